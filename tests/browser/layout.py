"""What a reader of one loaded page would notice, measured in the browser.

Each check returns a list of one-sentence problems (empty when the page
passes), so a failing test names the page, the width and the element:

* ``wide_problems`` at 1280 px: a table that does not fit the content
  column (a horizontal scroll box counts as not fitting), a code or output
  block whose content is wider than the block.
* ``narrow_problems`` at 390 px: the page scrolls sideways as a whole; a
  box that scrolls sideways (code, output, a table, a formula) with no
  visible cue that it does (the fading edge of extra.css).
* ``style_problems`` at any width: an element with ``word-break: break-all``
  (it splits numbers such as ``1,792`` across lines); a code or output block
  set smaller than ``MIN_CODE_PX``.
* ``page_problems`` once per page: a table-of-contents entry that differs
  from its heading, more than one provenance line, more than
  ``MAX_HTML_BYTES`` of HTML (inline images count: they travel with it).
"""

from __future__ import annotations

WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 390, "height": 844}
MAX_HTML_BYTES = 200_000
# The smallest text a code or output block may have. Listings of installed
# sources keep their long lines and shrink to fit the column, down to this;
# below it, on a phone, they scroll in their own box instead.
MIN_CODE_PX = 11
# The provenance line (runinfo.describe and the page footer) names the package, then torch.
PROVENANCE = r"with cnnbook \S+; torch"

# A short name for an element in a message: its caption, first header or first line.
_LABEL = """
const label = (el) => {
  const cap = el.querySelector && el.querySelector('caption, th');
  const text = (cap ? cap.textContent : el.textContent).trim().split('\\n')[0];
  return text.replace(/\\s+/g, ' ').slice(0, 60);
};
"""

_WIDE_JS = (
    "() => {"
    + _LABEL
    + """
  const article = document.querySelector('article');
  if (!article) return ['no article element'];
  const column = article.getBoundingClientRect();
  const problems = [];
  // An ancestor (below the article) that clips or scrolls the element sideways.
  const scroller = (el) => {
    for (let a = el.parentElement; a && a !== article; a = a.parentElement) {
      if (a.scrollWidth > a.clientWidth + 1 && getComputedStyle(a).overflowX !== 'visible') {
        return a;
      }
    }
    return null;
  };
  for (const table of article.querySelectorAll('table')) {
    const box = table.getBoundingClientRect();
    if (box.width === 0) continue;  // folded away (a closed <details>)
    if (scroller(table) || box.right > column.right + 1 || box.left < column.left - 1) {
      problems.push(`table "${label(table)}" is ${Math.round(box.width)} px wide ` +
        `in a ${Math.round(column.width)} px column`);
    }
  }
  for (const el of article.querySelectorAll('pre, pre > code')) {
    if (el.clientWidth === 0) continue;
    if (el.scrollWidth > el.clientWidth + 1) {
      problems.push(`code or output "${label(el)}" is ${el.scrollWidth} px wide ` +
        `in a ${el.clientWidth} px block`);
    }
  }
  return problems;
}"""
)

_NARROW_JS = (
    "() => {"
    + _LABEL
    + """
  const problems = [];
  // A box inside the page that scrolls sideways must show that it does: the
  // stylesheet fades the edge where more is hidden (a mask). Material draws
  // arrows beside its own tab labels instead.
  for (const el of document.querySelectorAll('article *')) {
    const style = getComputedStyle(el);
    if (!['auto', 'scroll'].includes(style.overflowX) || el.clientWidth === 0) continue;
    if (el.scrollWidth <= el.clientWidth + 1 || el.classList.contains('tabbed-labels')) continue;
    if ((style.maskImage || style.webkitMaskImage || 'none') === 'none') {
      problems.push(`${el.tagName.toLowerCase()} "${label(el)}" scrolls sideways ` +
        `(${el.scrollWidth} px in ${el.clientWidth} px) with no cue that it does`);
    }
  }
  const root = document.documentElement;
  const width = root.clientWidth;
  if (root.scrollWidth <= width + 1 && document.body.scrollWidth <= width + 1) return problems;
  // Name the widest elements that stick out and are not inside a scroll box.
  const clipped = (el) => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== 'visible') return true;
    }
    return false;
  };
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.right > width + 1 && r.width > 0 && !clipped(el)) out.push([r.right, el]);
  }
  out.sort((a, b) => b[0] - a[0]);
  const names = out.slice(0, 3).map(([right, el]) =>
    `${el.tagName.toLowerCase()} "${label(el)}" reaches ${Math.round(right)} px`);
  return problems.concat([`the page is ${Math.max(root.scrollWidth, document.body.scrollWidth)} ` +
    `px wide at ${width} px and scrolls sideways: ${names.join('; ') || 'no single element'}`]);
}"""
)

_STYLE_JS = (
    "(minPx) => {"
    + _LABEL
    + """
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    if (getComputedStyle(el).wordBreak === 'break-all') out.push(el);
  }
  const problems = out.slice(0, 5).map((el) =>
    `${el.tagName.toLowerCase()}.${[...el.classList].join('.')} "${label(el)}" has ` +
    `word-break: break-all`).concat(out.length > 5 ? [`and ${out.length - 5} more`] : []);
  for (const el of document.querySelectorAll('article pre, article pre > code')) {
    const px = parseFloat(getComputedStyle(el).fontSize);
    if (el.clientWidth > 0 && px < minPx - 0.01) {
      problems.push(`code or output "${label(el)}" is set in ${px.toFixed(1)} px ` +
        `(at least ${minPx} px)`);
    }
  }
  return problems;
}"""
)

_PAGE_JS = """
([maxBytes, provenance]) => {
  const problems = [];
  const squash = (s) => s.replace(/\\s+/g, '');
  // A heading as read: without its permalink, with each formula as MathJax's
  // accessible text (the table of contents shows formulas as plain text).
  const headingText = (h) => {
    const copy = h.cloneNode(true);
    copy.querySelectorAll('a.headerlink, a.anchor-link, .doc-labels').forEach((a) => a.remove());
    copy.querySelectorAll('mjx-container').forEach((m) => {
      const mml = m.querySelector('mjx-assistive-mml');
      m.replaceWith(mml ? mml.textContent : '');
    });
    return copy.textContent.trim();
  };
  // The API reference (mkdocstrings) heads each object with its dotted path
  // and lists it in the contents by its own name, by design.
  const apiName = (h, entry) => h.classList.contains('doc-heading') &&
    squash(headingText(h)).split('.').pop() === squash(entry);
  const seen = new Set();
  for (const a of document.querySelectorAll('nav.md-nav--secondary a.md-nav__link')) {
    const href = a.getAttribute('href') || '';
    if (!href.startsWith('#') || seen.has(href)) continue;
    seen.add(href);
    const entry = a.textContent.trim().replace(/\\s+/g, ' ');
    const heading = document.getElementById(decodeURIComponent(href.slice(1)));
    if (!heading) {
      problems.push(`table-of-contents entry "${entry}" points at no element (${href})`);
    } else if (squash(entry) !== squash(headingText(heading)) && !apiName(heading, entry)) {
      problems.push(`table-of-contents entry "${entry}" differs from its heading ` +
        `"${headingText(heading).replace(/\\s+/g, ' ')}"`);
    }
  }
  const lines = (document.body.textContent.match(new RegExp(provenance, 'g')) || []).length;
  if (lines > 1) problems.push(`${lines} provenance lines ("Computed with cnnbook ...")`);
  const nav = performance.getEntriesByType('navigation')[0];
  const bytes = nav ? nav.decodedBodySize : 0;
  if (bytes > maxBytes) {
    problems.push(`${Math.round(bytes / 1000)} kB of HTML (at most ${maxBytes / 1000} kB)`);
  }
  return problems;
}
"""


def wide_problems(page) -> list[str]:
    """Tables and code or output blocks that do not fit, at the current (wide) viewport."""
    return page.evaluate(_WIDE_JS)


def narrow_problems(page) -> list[str]:
    """The page scrolling sideways as a whole, and boxes that scroll with no cue,
    at the current (narrow) viewport."""
    return page.evaluate(_NARROW_JS)


def style_problems(page) -> list[str]:
    """Elements that break words anywhere (``word-break: break-all``), and code
    or output blocks set smaller than ``MIN_CODE_PX``."""
    return page.evaluate(_STYLE_JS, MIN_CODE_PX)


def page_problems(page) -> list[str]:
    """Table of contents against headings, provenance lines, and the HTML's weight."""
    return page.evaluate(_PAGE_JS, [MAX_HTML_BYTES, PROVENANCE])

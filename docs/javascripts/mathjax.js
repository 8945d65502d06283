// MathJax 3, served from this site.
//
// Markdown pages: arithmatex wraps every formula in \( \) or \[ \] inside an
// element of class "arithmatex"; everything else is left alone, so a dollar
// sign in prose stays a dollar sign.
// Notebook pages (nbconvert output): Markdown cells keep their $...$ and
// $$...$$ delimiters; code and outputs are never touched.
(function () {
  const notebook = document.querySelector(".jupyter-wrapper") !== null;
  window.MathJax = {
    tex: {
      inlineMath: notebook ? [["$", "$"], ["\\(", "\\)"]] : [["\\(", "\\)"]],
      displayMath: notebook ? [["$$", "$$"], ["\\[", "\\]"]] : [["\\[", "\\]"]],
      processEscapes: true,
      processEnvironments: true,
    },
    options: notebook
      ? {
          // An ignored element's whole subtree stays ignored.
          ignoreHtmlClass: "md-header|md-sidebar|md-footer|md-nav|jp-InputArea-editor|jp-OutputArea",
          processHtmlClass: "jp-RenderedMarkdown|arithmatex",
        }
      : {
          // ".*|" ignores every element, including those without a class.
          ignoreHtmlClass: ".*|",
          processHtmlClass: "arithmatex",
        },
  };
})();

// Every page is a full page load (the theme's instant navigation is off), so
// MathJax's own start-up typesetting is all that is needed. Re-typesetting on
// Material's document$ events after start-up clears MathJax's glyph styles and
// leaves the formulas blank.

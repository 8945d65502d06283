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

// Material's instant navigation (if enabled) swaps pages without a reload.
document$.subscribe(() => {
  if (window.MathJax && MathJax.typesetPromise) {
    MathJax.startup.output.clearCache();
    MathJax.typesetClear();
    MathJax.texReset();
    MathJax.typesetPromise();
  }
});

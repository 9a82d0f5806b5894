// Article page: clicking in a claim's text inside its Split form picks the split
// point. The form works without this (type the words, or a position); this only
// fills those inputs. Loaded as a static file because the Content-Security-Policy
// forbids inline scripts.
(function () {
  "use strict";

  var WORDS_TO_FILL = 5;

  function occurrences(text, words) {
    var count = 0;
    var at = text.indexOf(words);
    while (at !== -1) {
      count += 1;
      at = text.indexOf(words, at + 1);
    }
    return count;
  }

  function pickSplitPoint(paragraph) {
    var selection = window.getSelection();
    if (!selection || selection.rangeCount === 0) return;
    var range = selection.getRangeAt(0);
    if (!paragraph.contains(range.startContainer)) return;
    // The offset within the paragraph's text, however the browser cut its nodes.
    var before = document.createRange();
    before.selectNodeContents(paragraph);
    before.setEnd(range.startContainer, range.startOffset);
    var text = paragraph.textContent;
    var offset = before.toString().length;
    // Step back to the start of the word clicked in.
    while (offset > 0 && !/\s/.test(text.charAt(offset - 1))) offset -= 1;
    if (offset === 0) return;
    var words = text.slice(offset).split(/\s+/).filter(Boolean).slice(0, WORDS_TO_FILL).join(" ");
    var wordsInput = document.getElementById(paragraph.dataset.words);
    var positionInput = document.getElementById(paragraph.dataset.position);
    // Python counts code points; JavaScript strings count UTF-16 units.
    if (positionInput) positionInput.value = Array.from(text.slice(0, offset)).length;
    if (wordsInput) wordsInput.value = occurrences(text, words) === 1 ? words : "";
  }

  document.addEventListener("mouseup", function (event) {
    var paragraph = event.target.closest && event.target.closest(".split-text");
    if (paragraph) pickSplitPoint(paragraph);
  });
})();

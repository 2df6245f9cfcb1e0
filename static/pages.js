// Every page: an element marked data-focus (an error the server found) gets the focus, so a
// screen reader reads it first and a keyboard user starts from there.
(function () {
  "use strict";
  var target = document.querySelector("[data-focus]");
  if (target) { target.focus(); }
}());

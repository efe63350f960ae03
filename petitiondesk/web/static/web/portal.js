// The citizen portal's only script (the Content-Security-Policy forbids inline ones).
document.addEventListener("click", function (event) {
  if (event.target.closest("[data-print]")) {
    window.print();
  }
});

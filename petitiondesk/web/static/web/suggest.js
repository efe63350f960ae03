// Registration form: a click on a suggested category, topic or organisation fills its field.
document.addEventListener("click", function (event) {
  var chip = event.target.closest("[data-suggest-field]");
  if (!chip) return;
  var field = document.querySelector('[name="' + chip.dataset.suggestField + '"]');
  if (!field) return;
  field.value = chip.dataset.suggestValue;
  field.dispatchEvent(new Event("change", { bubbles: true }));
});

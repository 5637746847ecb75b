// Small behaviours without inline scripts (the content security policy forbids those).
document.addEventListener("change", function (event) {
  if (event.target.matches("[data-autosubmit]")) {
    event.target.form.submit();
  }
});

// Drug pickers (medicinkort/_drug_picker.html): choosing a drug of the type-ahead fills the
// hidden field and asks for its checks; typing again empties the choice until one is chosen.
document.addEventListener("click", function (event) {
  var pick = event.target.closest("[data-drug-pick]");
  if (!pick) {
    return;
  }
  var field = pick.getAttribute("data-for");
  var hidden = document.getElementById(field);
  document.getElementById(field + "-search").value = pick.getAttribute("data-drug-label");
  document.getElementById(field + "-results").innerHTML = "";
  hidden.value = pick.getAttribute("data-drug-pick");
  hidden.dispatchEvent(new Event("change", { bubbles: true }));
});
document.addEventListener("input", function (event) {
  var field = event.target.getAttribute("data-drug-search");
  if (!field) {
    return;
  }
  var hidden = document.getElementById(field);
  if (hidden.value) {
    hidden.value = "";
    document.getElementById(field + "-checks").innerHTML = "";
  }
});
// Enter in a drug search picks the first drug found, never sends the form around it.
document.addEventListener("keydown", function (event) {
  var field = event.target.getAttribute && event.target.getAttribute("data-drug-search");
  if (!field || event.key !== "Enter") {
    return;
  }
  event.preventDefault();
  var first = document.querySelector("#" + field + "-results [data-drug-pick]");
  if (first) {
    first.click();
  }
});
// The order form's times: proposed from the dosage as it is typed, until the clinician writes
// times of their own (then they are kept).
document.addEventListener("input", function (event) {
  if (event.target.hasAttribute && event.target.hasAttribute("data-times-field")) {
    var proposed = document.getElementById("id_times_proposed");
    if (proposed) {
      proposed.value = "";
    }
  }
});

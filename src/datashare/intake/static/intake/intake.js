// Progressive enhancement only: every control also works without JavaScript.
document.addEventListener("DOMContentLoaded", function () {
  // Choosing a year in an element's range ticks the element (people expect the row to count).
  document.querySelectorAll("li.el-row").forEach(function (row) {
    var box = row.querySelector("input[type=checkbox][name=inc]");
    if (!box) return;
    row.querySelectorAll(".el-years select").forEach(function (select) {
      select.addEventListener("change", function () { box.checked = true; });
    });
  });
  // Questions for one kind of request only (the FERPA exception) appear when that kind is
  // chosen; without JavaScript the page is redrawn for the kind on saving.
  var kinds = document.querySelectorAll("input[type=radio][name=kind]");
  document.querySelectorAll(".kind-only").forEach(function (block) {
    function update() {
      var chosen = document.querySelector("input[type=radio][name=kind]:checked");
      block.hidden = !(chosen && chosen.value === block.getAttribute("data-kind"));
    }
    kinds.forEach(function (radio) { radio.addEventListener("change", update); });
  });
});

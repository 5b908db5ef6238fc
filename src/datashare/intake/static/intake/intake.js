// Progressive enhancement only: every control also works without JavaScript.
// Choosing a year in an element's range ticks the element (people expect the row to count).
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("li.el-row").forEach(function (row) {
    var box = row.querySelector("input[type=checkbox][name=inc]");
    if (!box) return;
    row.querySelectorAll(".el-years select").forEach(function (select) {
      select.addEventListener("change", function () { box.checked = true; });
    });
  });
});

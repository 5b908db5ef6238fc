// Progressive enhancement only: every control also works without JavaScript.
// "Select row": a button per grid row that checks every available year of that element.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("table.grid tbody tr[id^='el_']").forEach(function (row) {
    var header = row.querySelector("th[scope=row]");
    var boxes = row.querySelectorAll("input[type=checkbox]");
    if (!header || boxes.length === 0) return;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "secondary row-toggle";
    var name = header.querySelector(".el-name");
    button.textContent = "All years";
    var hidden = document.createElement("span");
    hidden.className = "visually-hidden";
    hidden.textContent = " of " + (name ? name.textContent : "this element");
    button.appendChild(hidden);
    button.addEventListener("click", function () {
      var all = Array.prototype.every.call(boxes, function (b) { return b.checked; });
      boxes.forEach(function (b) { b.checked = !all; });
    });
    header.appendChild(button);
  });
});

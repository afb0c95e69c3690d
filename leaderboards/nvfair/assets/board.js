// avbench leaderboard: sortable and filterable tables.
// Click (or press Enter on) a column header to sort by it; again to reverse.
// A filter box (input.table-filter, data-table = the table's id) shows only the rows whose
// text contains every word typed, in any case and order.
// Cells sort by their data-sort attribute when present, else by their text;
// number columns start best-first (descending) and keep empty cells last.
(function () {
  "use strict";

  function valueOf(row, index, numeric) {
    const cell = row.cells[index];
    if (!cell) return null;
    const raw = cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent.trim();
    if (!numeric) return raw.toLowerCase();
    const x = parseFloat(raw);
    return Number.isFinite(x) ? x : null;
  }

  function sortBy(table, index, header) {
    const numeric = header.dataset.type === "number";
    const current = header.getAttribute("aria-sort");
    let direction;
    if (current === "ascending") direction = -1;
    else if (current === "descending") direction = 1;
    else direction = numeric ? -1 : 1;
    const body = table.tBodies[0];
    const rows = Array.from(body.rows);
    rows.sort(function (a, b) {
      const va = valueOf(a, index, numeric);
      const vb = valueOf(b, index, numeric);
      if (va === null && vb === null) return 0;
      if (va === null) return 1;
      if (vb === null) return -1;
      return direction * (va < vb ? -1 : va > vb ? 1 : 0);
    });
    rows.forEach(function (row) { body.appendChild(row); });
    table.querySelectorAll("thead th").forEach(function (th) { th.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", direction > 0 ? "ascending" : "descending");
  }

  document.querySelectorAll("table.sortable").forEach(function (table) {
    Array.from(table.tHead.rows[0].cells).forEach(function (header, index) {
      header.tabIndex = 0;
      header.classList.add("sort-header");
      header.addEventListener("click", function () { sortBy(table, index, header); });
      header.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          sortBy(table, index, header);
        }
      });
    });
  });

  document.querySelectorAll("input.table-filter").forEach(function (input) {
    const table = document.getElementById(input.dataset.table);
    if (!table) return;
    const count = input.parentElement.parentElement.querySelector(".filter-count");
    input.addEventListener("input", function () {
      const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      let shown = 0;
      const rows = Array.from(table.tBodies[0].rows);
      rows.forEach(function (row) {
        const text = row.textContent.toLowerCase();
        const keep = words.every(function (w) { return text.indexOf(w) !== -1; });
        row.hidden = !keep;
        if (keep) shown++;
      });
      if (count) count.textContent = words.length ? shown + " of " + rows.length + " rows" : "";
    });
  });
})();

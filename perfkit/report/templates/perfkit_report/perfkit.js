/* perfkit report script (inlined once per page; no network, no library).
 *
 * 1. Data views: a <div class="perfkit-view" data-set="ID" data-rows="3,1,2,7-9" data-cols="0,2">
 *    becomes a <table class="perfkit-table"> of those rows and columns of the data set ID, a
 *    script element of type application/json and class perfkit-set holding {"c": column names,
 *    "n": 1 for a right-aligned column, "v": the columns of display strings, each a list or
 *    {"d": distinct strings, "i": index per row}}, drawn when the view is first shown (a hidden
 *    Stack or Tab page when it is picked). Every value is set with textContent: data is never
 *    parsed as markup.
 * 2. Long tables: every table.perfkit-table with more than LONG rows (drawn by a widget or by 1)
 *    gets a filter box and sortable column headers, and scrolls in a box of about 25 rows.
 * Widgets render after the page has loaded, so both run again whenever the page changes.
 */
(function () {
  "use strict";
  var LONG = 30;
  var sets = {};
  var observer = null;
  var MISSING = { "": 1, "\u2014": 1, "-": 1 };
  var NUMBER = /^([+\-\u2212]?)(\d[\d,]*(?:\.\d+)?)\s*([^\d\s]*)$/;
  var DATE = /^\d{4}-\d{2}(-\d{2})?( \d{2}:\d{2})?$/;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function indices(value, n) {
    if (value === null || value === undefined || value === "*") {
      var all = [];
      for (var i = 0; i < n; i++) all.push(i);
      return all;
    }
    var out = [];
    value.split(",").forEach(function (part) {
      if (!part) return;
      var dash = part.indexOf("-");
      if (dash < 0) { out.push(Number(part)); return; }
      for (var i = Number(part.slice(0, dash)), end = Number(part.slice(dash + 1)); i <= end; i++) out.push(i);
    });
    return out;
  }

  function loadSets(root) {
    var found = root.querySelectorAll("script.perfkit-set:not([data-perfkit-read])");
    for (var i = 0; i < found.length; i++) {
      var s = found[i];
      s.setAttribute("data-perfkit-read", "");
      try {
        var data = JSON.parse(s.textContent);
        data.v = data.v.map(function (col) {  // {d: distinct values, i: index per row} → values
          return Array.isArray(col) ? col : col.i.map(function (k) { return col.d[k]; });
        });
        sets[s.getAttribute("data-id")] = data;
      } catch (e) {
        if (window.console) console.warn("perfkit: unreadable data set", s.getAttribute("data-id"));
      }
    }
  }

  function drawView(view) {
    var data = sets[view.getAttribute("data-set")];
    if (!data) return false;
    var cols = indices(view.getAttribute("data-cols"), data.c.length);
    var rows = indices(view.getAttribute("data-rows"), data.v.length ? data.v[0].length : 0);
    var table = el("table", "perfkit-table " + (view.getAttribute("data-class") || ""));
    if (view.hasAttribute("data-caption")) table.appendChild(el("caption", "", view.getAttribute("data-caption")));
    var head = el("tr");
    cols.forEach(function (c) { head.appendChild(el("th", data.n[c] ? "num" : "", data.c[c])); });
    table.appendChild(el("thead")).appendChild(head);
    var body = el("tbody");
    rows.forEach(function (r) {
      var tr = el("tr");
      cols.forEach(function (c) { tr.appendChild(el("td", data.n[c] ? "num" : "", data.v[c][r])); });
      body.appendChild(tr);
    });
    if (!rows.length) {
      var td = el("td", "empty", "\u65e0\u6570\u636e");  // 无数据
      td.colSpan = Math.max(cols.length, 1);
      body.appendChild(el("tr")).appendChild(td);
    }
    table.appendChild(body);
    view.textContent = "";
    view.appendChild(table);
    view.setAttribute("data-perfkit-drawn", "");
    enhance(table);
    return true;
  }

  function cellKey(text) {
    var t = text.trim();
    if (MISSING[t]) return null;
    if (DATE.test(t)) return { s: t };
    var m = NUMBER.exec(t);
    if (m) {
      var v = parseFloat(m[2].replace(/,/g, ""));
      return { v: m[1] === "" || m[1] === "+" ? v : -v, s: t };
    }
    return { s: t };
  }

  function sortBy(table, col, th) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var desc = th.getAttribute("aria-sort") === "ascending";
    var keys = rows.map(function (r, i) {
      var cell = r.cells[col];
      return { row: r, i: i, k: cell ? cellKey(cell.textContent) : null };
    });
    var numeric = keys.every(function (x) { return x.k === null || x.k.v !== undefined; });
    var collator = window.Intl ? new Intl.Collator("zh-CN", { numeric: true }) : null;
    keys.sort(function (a, b) {
      if (a.k === null || b.k === null) return (a.k === null) - (b.k === null) || a.i - b.i;
      var d = numeric ? a.k.v - b.k.v
        : collator ? collator.compare(a.k.s, b.k.s) : (a.k.s < b.k.s ? -1 : a.k.s > b.k.s ? 1 : 0);
      return (desc ? -d : d) || a.i - b.i;
    });
    keys.forEach(function (x) { body.appendChild(x.row); });
    var heads = table.tHead.rows[0].cells;
    for (var h = 0; h < heads.length; h++) heads[h].removeAttribute("aria-sort");
    th.setAttribute("aria-sort", desc ? "descending" : "ascending");
  }

  function filterRows(table, query, count, total) {
    var terms = query.toLowerCase().split(/\s+/).filter(Boolean);
    var shown = 0, rows = table.tBodies[0].rows;
    for (var i = 0; i < rows.length; i++) {
      var text = rows[i].textContent.toLowerCase();
      var ok = terms.every(function (t) { return text.indexOf(t) >= 0; });
      rows[i].hidden = !ok;
      if (ok) shown++;
    }
    count.textContent = terms.length ? "\u663e\u793a " + shown + " / " + total + " \u884c"
      : "\u5171 " + total + " \u884c";  // 显示 x / y 行 ; 共 y 行
  }

  function enhance(table) {
    if (table.hasAttribute("data-perfkit-tools") || !table.tBodies.length || !table.tHead) return;
    table.setAttribute("data-perfkit-tools", "");
    var total = table.tBodies[0].rows.length;
    if (total <= LONG) return;
    var bar = el("div", "perfkit-tools");
    var input = el("input");
    input.type = "search";
    input.placeholder = "\u7b5b\u9009\uff08\u8f93\u5165\u59d3\u540d\u3001\u7f16\u53f7\u6216\u6570\u503c\uff09";  // 筛选（输入姓名、编号或数值）
    input.setAttribute("aria-label", "\u7b5b\u9009\u8868\u683c\u884c");  // 筛选表格行
    var count = el("span", "perfkit-count", "\u5171 " + total + " \u884c");
    bar.appendChild(input);
    bar.appendChild(count);
    var box = el("div", "perfkit-scroll");  // about 25 rows high, the header row kept in view
    table.parentNode.insertBefore(bar, table);
    table.parentNode.insertBefore(box, table);
    box.appendChild(table);
    input.addEventListener("input", function () { filterRows(table, input.value, count, total); });
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, col) {
      th.classList.add("perfkit-sortable");
      th.tabIndex = 0;
      th.title = "\u70b9\u51fb\u6392\u5e8f";  // 点击排序
      th.addEventListener("click", function () { sortBy(table, col, th); });
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(table, col, th); }
      });
    });
  }

  function visible(e) {
    return e.offsetParent !== null || e.getClientRects().length > 0;
  }

  function watch(view) {
    if (view.hasAttribute("data-perfkit-watched")) return;
    view.setAttribute("data-perfkit-watched", "");
    if (observer) observer.observe(view);
  }

  function scan() {
    loadSets(document);
    var views = document.querySelectorAll(".perfkit-view:not([data-perfkit-drawn])");
    for (var i = 0; i < views.length; i++) {
      var v = views[i];
      watch(v);
      // shown (as the observer saw it, or by its own box) and its data set has arrived since
      if ((v.perfkitNear || visible(v)) && drawView(v) && observer) observer.unobserve(v);
    }
    var tables = document.querySelectorAll("table.perfkit-table:not([data-perfkit-tools])");
    for (var t = 0; t < tables.length; t++) enhance(tables[t]);
  }

  /** Draw every view now (before printing, or for a test). */
  function drawAll() {
    loadSets(document);
    var views = document.querySelectorAll(".perfkit-view:not([data-perfkit-drawn])");
    for (var i = 0; i < views.length; i++) drawView(views[i]);
  }

  if (window.IntersectionObserver) {
    observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        entry.target.perfkitNear = entry.isIntersecting;
        if (entry.isIntersecting) {
          loadSets(document);
          if (drawView(entry.target)) observer.unobserve(entry.target);
        }
      });
    }, { rootMargin: "100000px 0px" });  // shown anywhere on the page: drawn (Ctrl+F finds it)
  }
  var queued = false;
  function later() {
    if (queued) return;
    queued = true;
    setTimeout(function () { queued = false; scan(); }, 30);
  }
  function start() {
    scan();
    new MutationObserver(later).observe(document.body, { childList: true, subtree: true });
    document.addEventListener("click", later, true);  // a tab or link picked: a page shown
    document.addEventListener("change", later, true);  // a dropdown's choice
  }
  window.addEventListener("beforeprint", drawAll);
  window.perfkitDrawAll = drawAll;
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

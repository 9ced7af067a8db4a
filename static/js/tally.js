// Small behaviours on top of htmx: focus a task form when it opens, clear the panel on Escape, move
// the focus to the first error of a refused form, and keep self-refreshing parts of a page from
// taking the reader's focus or scroll position.
document.addEventListener("htmx:afterSwap", (event) => {
  const panel = event.detail.target;
  if (panel && panel.id === "task-panel") {
    const input = panel.querySelector("input:not([type=hidden]), select, textarea");
    if (input) input.focus();
    panel.scrollIntoView({ block: "nearest", behavior: "smooth" });
  }
});
document.addEventListener("keydown", (event) => {
  const panel = document.getElementById("task-panel");
  if (event.key === "Escape" && panel && panel.contains(document.activeElement)) panel.innerHTML = "";
});

// After a refused submit, whether the form came back as a whole page or was swapped in by htmx,
// the focus goes to the first error: the first field marked invalid, or a message for the whole form
// when it comes first. Without JavaScript the server's `autofocus` on the first invalid field does
// the same (config/forms.py).
function focusFirstError(root) {
  const first = root.querySelector("form [aria-invalid=true], form [role=alert]");
  if (!first) return false;
  if (!first.matches("input, select, textarea, button, a[href]")) first.setAttribute("tabindex", "-1");
  first.focus();
  return true;
}
document.addEventListener("DOMContentLoaded", () => {
  labelCells(document);
  focusFirstError(document);
});
document.addEventListener("htmx:afterSettle", (event) => {
  labelCells(event.detail.elt.parentElement || document);
  if (!isRefresh(event.detail.requestConfig)) focusFirstError(event.detail.elt);
});

// On a phone the tables' rows are stacked (everyone.css) and their headings out of sight: each cell
// carries its column's heading, which the stylesheet shows beside the figures.
function labelCells(root) {
  for (const table of root.querySelectorAll("table.table")) {
    const headings = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
    for (const row of table.querySelectorAll("tbody tr")) {
      let column = 0;
      for (const cell of row.cells) {
        if (cell.colSpan === 1 && headings[column]) cell.dataset.label = headings[column];
        column += cell.colSpan;
      }
    }
  }
}

// A self-refreshing part (hx-trigger "every …", or the header's badge) must not move the reader:
// an unchanged answer is not swapped in at all; a changed one is, and whatever had the focus inside
// it (the same link, field or button in the new content) gets it back, and the page keeps its
// scroll position. When that element is gone from the new content the refresh waits for the reader
// to move on rather than drop their focus on the page's body.
function isRefresh(config) {
  const elt = config && config.elt;
  return Boolean(elt && !config.triggeringEvent && /\bevery\b/.test(elt.getAttribute("hx-trigger") || ""));
}

function keyOf(element) {
  if (element.id) return `#${CSS.escape(element.id)}`;
  const tag = element.tagName.toLowerCase();
  for (const attribute of ["href", "name", "data-testid", "data-task"]) {
    const value = element.getAttribute(attribute);
    if (value) return `${tag}[${attribute}="${CSS.escape(value)}"]`;
  }
  return null;
}

let kept = null;
document.addEventListener("htmx:beforeSwap", (event) => {
  const { requestConfig, target, xhr } = event.detail;
  if (!isRefresh(requestConfig) || !event.detail.shouldSwap || !target) return;
  const select = requestConfig.elt.getAttribute("hx-select");
  const fresh = new DOMParser().parseFromString(xhr.responseText, "text/html");
  const part = select ? fresh.querySelector(select) : fresh.body;
  if (!part) return;
  labelCells(part);
  // Compared without the classes htmx itself puts on the element while it asks.
  const now = target.cloneNode(true);
  now.classList.remove("htmx-request", "htmx-settling", "htmx-swapping", "htmx-added");
  if (!now.classList.length) now.removeAttribute("class");
  const outer = /^outerHTML/.test(requestConfig.elt.getAttribute("hx-swap") || htmx.config.defaultSwapStyle);
  if (outer ? part.outerHTML === now.outerHTML : part.innerHTML === target.innerHTML) {
    event.detail.shouldSwap = false;
    return;
  }
  const active = document.activeElement;
  const key = active && target.contains(active) && active !== target ? keyOf(active) : null;
  if (active && target.contains(active) && active !== target && (!key || !part.querySelector(key))) {
    event.detail.shouldSwap = false;
    return;
  }
  kept = { key, x: window.scrollX, y: window.scrollY };
});
document.addEventListener("htmx:afterSwap", (event) => {
  if (!kept || !isRefresh(event.detail.requestConfig)) return;
  const { key, x, y } = kept;
  kept = null;
  const element = key && document.querySelector(key);
  if (element && document.activeElement !== element) element.focus({ preventScroll: true });
  if (window.scrollX !== x || window.scrollY !== y) window.scrollTo(x, y);
});

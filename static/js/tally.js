// Small behaviours on top of htmx: focus a task form when it opens, and clear the panel on Escape.
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

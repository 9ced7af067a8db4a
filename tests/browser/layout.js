// What a person on a phone must never meet, measured in the page itself: the page wider than the
// screen (sideways scrolling), a card or control reaching past its edge, and a figure (class "num"
// or "value", the balances and amounts) cut off, scrolled out of sight inside its table, or wrapped
// onto a second line.
() => {
  const problems = [];
  const width = document.documentElement.clientWidth;
  const describe = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\s+/).join(".") : "")
    + " «" + (el.innerText || el.value || "").trim().slice(0, 40) + "»";
  const visible = (el) => {
    const style = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    return style.display !== "none" && style.visibility !== "hidden" && r.width > 0 && r.height > 0;
  };
  if (document.documentElement.scrollWidth > width + 1)
    problems.push(`the page is ${document.documentElement.scrollWidth} px wide on a ${width} px screen`);
  for (const el of document.querySelectorAll(".card, .figure, .banner, button, .button, input, select, textarea, .topbar")) {
    if (!visible(el) || el.closest("[hidden], template")) continue;
    const r = el.getBoundingClientRect();
    if (r.left < -1 || r.right > width + 1) problems.push(`${describe(el)} reaches past the screen (${Math.round(r.left)}..${Math.round(r.right)} px)`);
  }
  for (const el of document.querySelectorAll("main td.num, main .value")) {
    if (!visible(el) || !el.innerText.trim()) continue;
    const r = el.getBoundingClientRect();
    if (r.left < -1 || r.right > width + 1) { problems.push(`figure ${describe(el)} is off the screen (${Math.round(r.left)}..${Math.round(r.right)} px)`); continue; }
    for (let box = el.parentElement; box && box !== document.body; box = box.parentElement) {
      const b = box.getBoundingClientRect(), style = getComputedStyle(box);
      if (style.overflowX !== "visible" && (r.left < b.left - 1 || r.right > b.right + 1)) {
        problems.push(`figure ${describe(el)} is cut off or scrolled out of sight by ${describe(box)}`); break;
      }
    }
    if (el.scrollWidth > el.clientWidth + 1) problems.push(`figure ${describe(el)} is clipped`);
    // Wrapped: a piece of its text broken over two lines (a <br> between two pieces is meant).
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let text = walker.nextNode(); text; text = walker.nextNode()) {
      const range = document.createRange(); range.selectNodeContents(text);
      const rects = [...range.getClientRects()].filter(q => q.width > 0);
      if (rects.some(a => rects.some(b => b.top >= a.bottom - 1))) { problems.push(`figure ${describe(el)} wraps onto another line`); break; }
    }
  }
  return problems;
}

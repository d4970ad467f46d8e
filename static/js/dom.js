// The page's one element builder.

/**
 * `el("p", "hint", "text")` or `el("p", {class: "hint", "data-x": "1", title}, ...children)`:
 * the second argument is a class name or the element's properties (`class`, `text`, `data-*`,
 * `aria-*`, `for` and `role` as attributes, anything else as a property); children are nodes
 * or text (null and undefined are left out).
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  const fields = typeof props === "string" ? { class: props } : props || {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (/^(data-|aria-)/.test(key) || key === "for" || key === "role") {
      node.setAttribute(key, value === true ? "" : String(value));
    } else node[key] = value;
  }
  for (const child of children) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}

/** A 20×20 stroke icon of SVG `paths`, hidden from assistive technology (its button names it). */
export function icon(...paths) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 20 20");
  svg.setAttribute("class", "icon");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  for (const d of paths) {
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}

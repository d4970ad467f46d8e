// Client-side exports of a run, and copying the page's link.

export function framesToCSV(frames) {
  const lines = ["step,x,y,loss,grad_x,grad_y,lr"];
  for (const f of frames) {
    lines.push([f.step, f.x, f.y, f.loss, f.grad[0], f.grad[1], f.lr ?? ""].map(String).join(","));
  }
  return `${lines.join("\n")}\n`;
}

export function runToJSON(slot) {
  const { config, status, summary, frames } = slot;
  return `${JSON.stringify({ config, status, summary, frames }, null, 2)}\n`;
}

export function download(filename, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "sr-only";
    document.body.append(area);
    area.select();
    let ok = false;
    try {
      ok = document.execCommand("copy");
    } catch {
      ok = false;
    }
    area.remove();
    return ok;
  }
}

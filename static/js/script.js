// "Copy as PyTorch": the selected run as a standalone torch script (POST /api/runs/script),
// copied to the clipboard and shown in a dialog with a download link.
//
// Hooks: data-testid copy-pytorch (the button), script-dialog, script-code, script-status,
// script-error, script-download, script-close.

import { errorText, postText } from "./api.js";
import { el } from "./dom.js";
import { t } from "./i18n.js";
import { runRequest } from "./state.js";

export class ScriptExport {
  /** `host`: the page's narrow host (extras.js). */
  constructor(host, button) {
    this.host = host;
    this.button = button;
    this.url = "";
    this.build();
    button.addEventListener("click", () => this.open());
  }

  build() {
    this.code = el("code", { "data-testid": "script-code" });
    this.status = el("p", {
      class: "script-status",
      "data-testid": "script-status",
      role: "status",
    });
    this.error = el("p", {
      class: "field-error script-error",
      "data-testid": "script-error",
      role: "alert",
      hidden: true,
    });
    this.download = el("a", {
      class: "btn btn-soft",
      "data-testid": "script-download",
      text: t("Download .py"),
    });
    this.copyAgain = el("button", { type: "button", class: "btn btn-ghost", text: t("Copy again") });
    this.close = el("button", {
      type: "button",
      class: "btn btn-primary",
      "data-testid": "script-close",
      text: t("Close"),
    });
    this.title = el("h2", { class: "script-title", id: "script-title" });
    this.dialog = el(
      "dialog",
      { class: "script-dialog", "data-testid": "script-dialog", "aria-labelledby": "script-title" },
      el("div", { class: "script-head" }, this.title, this.status),
      this.error,
      el("pre", { class: "script-code" }, this.code),
      el("div", { class: "script-actions" }, this.copyAgain, this.download, this.close),
    );
    document.body.append(this.dialog);
    this.close.addEventListener("click", () => this.dialog.close());
    this.copyAgain.addEventListener("click", () => this.copy(this.code.textContent));
    this.dialog.addEventListener("click", (event) => {
      if (event.target === this.dialog) this.dialog.close();
    });
  }

  async open() {
    const state = this.host.state;
    const run = state.selectedRun;
    if (!run) return;
    const index = state.runs.indexOf(run) + 1;
    const request = runRequest(state, run);
    this.title.textContent = t("Run {index} ({optimizer}) in plain PyTorch", { index, optimizer: run.optimizer });
    this.status.textContent = t("Writing the script…");
    this.error.hidden = true;
    this.code.textContent = "";
    this.download.hidden = true;
    this.copyAgain.hidden = true;
    this.button.disabled = true;
    if (!this.dialog.open) this.dialog.showModal();
    try {
      const text = await postText("/api/runs/script", request);
      this.code.textContent = text;
      if (this.url) URL.revokeObjectURL(this.url);
      this.url = URL.createObjectURL(new Blob([text], { type: "text/x-python" }));
      this.download.href = this.url;
      this.download.download = `losslab_run${index}_${run.optimizer}.py`;
      this.download.hidden = false;
      this.copyAgain.hidden = false;
      await this.copy(text);
    } catch (error) {
      this.status.textContent = "";
      this.error.textContent = errorText(error);
      this.error.hidden = false;
    } finally {
      this.button.disabled = false;
    }
  }

  /** navigator.clipboard, else a textarea inside the dialog (the page behind it is inert). */
  async copy(text) {
    let ok = false;
    try {
      await navigator.clipboard.writeText(text);
      ok = true;
    } catch {
      const area = el("textarea", { class: "sr-only", readOnly: true, value: text });
      this.dialog.append(area);
      area.select();
      try {
        ok = document.execCommand("copy");
      } catch {
        ok = false;
      }
      area.remove();
    }
    this.status.textContent = ok
      ? t("Copied to the clipboard. Run it with python; it prints every frame.")
      : t("Select the text to copy it, or download the file.");
    this.status.dataset.ok = String(ok);
  }
}

"""The chat UI's stylesheet and page script (wired in by :func:`ui.app.launch`).

The script does what Gradio's components cannot: a citation marker in the chat scrolls to its
source card and highlights it, and files over the upload limit are kept back in the browser
and reported in the Library's upload results instead of failing the whole upload.
"""

from __future__ import annotations

import json

CSS = """
/* Gradio's bundled Source Sans Pro SemiBold is a few-glyph subset: bold text mixes in
   fallback glyphs. This family maps every weight to the complete Regular and Bold files. */
@font-face {font-family: 'QA Sans'; font-weight: 100 500; font-style: normal;
            src: url('static/fonts/SourceSansPro/SourceSansPro-Regular.woff2') format('woff2');}
@font-face {font-family: 'QA Sans'; font-weight: 600 900; font-style: normal;
            src: url('static/fonts/SourceSansPro/SourceSansPro-Bold.woff2') format('woff2');}
.qa-header h1 {font-size: 1.6rem; margin: 0 0 2px 0;}
.qa-header p {margin: 0; color: var(--body-text-color-subdued);}
#qa-chat strong, .qa-sources b, .qa-title, .qa-passage b {font-weight: 600;}
/* a 5,000-character question or an unbroken URL wraps instead of running off the page */
#qa-chat .message, #qa-chat .prose, #qa-status, #qa-library-status, .qa-sources,
.qa-passages {overflow-wrap: anywhere;}
#qa-chat sup {margin-left: 1px;}
#qa-chat a.qa-marker, #qa-chat sup {color: #2563eb; font-weight: 600; text-decoration: none;}
#qa-chat .qa-live a.qa-marker {cursor: pointer; text-decoration: underline dotted;}
#qa-status p {margin: 4px 0; color: var(--body-text-color-subdued); font-size: 0.92em;}
#qa-notice {border: 1px solid #f59e0b; background: #fffbeb; color: #92400e;
            border-radius: 8px; padding: 8px 12px;}
#qa-chips {gap: 6px; flex-wrap: wrap; align-items: center;}
#qa-chips button.qa-chip {flex: 0 1 auto; width: auto; min-width: 0; max-width: 100%;
            border-radius: 999px; padding: 2px 10px; background: #eff6ff; color: #1e40af;
            border: 1px solid #bfdbfe; font-weight: 500; white-space: nowrap;
            overflow: hidden; text-overflow: ellipsis;}
#qa-chips button.qa-chip:hover {background: #dbeafe;}
/* the picked article's headline ends in an ellipsis before the dropdown's arrow */
#qa-scope input, #qa-delete-pick input {text-overflow: ellipsis; overflow: hidden;
            white-space: nowrap; min-width: 0; padding-right: 30px !important;
            box-sizing: border-box;}
#qa-scope .wrap-inner, #qa-delete-pick .wrap-inner {min-width: 0;}
#qa-scope .secondary-wrap, #qa-delete-pick .secondary-wrap {min-width: 0; flex: 1 1 auto;}
.qa-sources {display: flex; flex-direction: column; gap: 10px;}
.qa-source {border: 1px solid var(--border-color-primary); border-left: 4px solid #2563eb;
            border-radius: 8px; padding: 10px 12px; background: var(--background-fill-primary);
            scroll-margin: 80px;}
.qa-source.qa-flash {animation: qa-flash 2.4s ease-out; outline: 2px solid #2563eb;}
@keyframes qa-flash {0% {background: #fde68a;} 100% {background: var(--background-fill-primary);}}
.qa-source-head {line-height: 1.3;}
.qa-n {font-weight: 600; color: #2563eb; margin-right: 4px;}
.qa-meta {font-size: 0.85em; color: var(--body-text-color-subdued); margin-top: 2px;}
.qa-meta span + span::before, .qa-meta span + a::before, .qa-meta a::before {content: " · ";}
.qa-meta a {color: #2563eb;}
.qa-quote {margin: 8px 0 4px 0; padding: 2px 0 2px 10px; border-left: 3px solid #d1d5db;
           font-style: italic;}
.qa-quote mark, .qa-ctx-quote mark {background: #fde68a; color: inherit; font-style: normal;
           padding: 0 2px; border-radius: 3px;}
.qa-context summary, .qa-details summary {cursor: pointer; font-size: 0.85em; color: #2563eb;}
.qa-para {font-size: 0.92em; margin: 6px 0 0 0;}
.qa-ctx-quote {background: #eff6ff; border-radius: 3px;}
.qa-passages {max-height: 540px; overflow-y: auto; padding-right: 4px;}
.qa-passage {border-top: 1px solid var(--border-color-primary); padding: 6px 0;}
.qa-passage p {margin: 4px 0; font-size: 0.92em;}
.qa-match {font-size: 0.8em; color: var(--body-text-color-subdued); display: flex;
           align-items: center; gap: 6px; margin-top: 2px;}
.qa-bar {display: inline-block; width: 64px; height: 6px; border-radius: 3px;
         background: #e5e7eb; overflow: hidden;}
.qa-bar span {display: block; height: 100%; background: #2563eb;}
.qa-details {margin-top: 8px; font-size: 0.85em;}
.qa-details ul {margin: 4px 0; padding-left: 18px; color: var(--body-text-color-subdued);}
.qa-cited {color: #059669; font-size: 0.8em; border: 1px solid #059669; border-radius: 4px;
           padding: 0 4px;}
.qa-uncited {color: #6b7280; font-size: 0.8em; border: 1px solid #d1d5db; border-radius: 4px;
             padding: 0 4px;}
.qa-empty {color: var(--body-text-color-subdued);}
.qa-hidden {display: none !important;}
#qa-delete-confirm, #qa-undo {border: 1px solid var(--border-color-primary);
            border-radius: 8px; padding: 6px 10px; align-items: center;}
#qa-delete-confirm {border-color: #fca5a5; background: #fef2f2;}
/* the Library: a table on wide screens, one card per article on narrow ones */
.qa-library table {width: 100%; border-collapse: collapse; font-size: 0.92em;
                   border: 0 !important; margin: 0;}
.qa-library th, .qa-library td {border-left: 0 !important; border-right: 0 !important;
                   border-top: 0 !important;}
.qa-library table tr {border: 0;}
.qa-library th {text-align: left; white-space: nowrap; word-break: keep-all;
                border-bottom: 2px solid var(--border-color-primary); padding: 6px 8px;}
.qa-library td {border-bottom: 1px solid var(--border-color-primary); padding: 6px 8px;
                vertical-align: top;}
.qa-library .qa-col-title {font-weight: 600; overflow-wrap: anywhere;}
.qa-library .qa-col-date, .qa-library .qa-col-chunks {white-space: nowrap;}
.qa-library .qa-col-chunks {text-align: right;}
@media (max-width: 640px) {
  .qa-library thead {display: none;}
  .qa-library table, .qa-library tbody, .qa-library tr, .qa-library td {display: block;}
  .qa-library table tr {border: 1px solid var(--border-color-primary); border-radius: 8px;
                  padding: 6px 10px; margin-bottom: 8px;}
  .qa-library td {border: 0; padding: 1px 0; text-align: left !important;}
  .qa-library td:empty {display: none;}
  .qa-library td:not(.qa-col-title)::before {content: attr(data-label) ": ";
                  color: var(--body-text-color-subdued); white-space: nowrap;}
}
"""

_SCRIPT = """
<script>
(() => {
  const LIMIT = __LIMIT__;
  const bots = (chat) => chat.querySelectorAll('.message-row.bot-row, .bot-row, .message.bot');
  // Only the latest answer's markers match the cards in the Sources panel: mark them live.
  const refresh = () => {
    const chat = document.getElementById('qa-chat');
    if (!chat) return;
    const all = bots(chat);
    all.forEach((b, i) => b.classList.toggle('qa-live', i === all.length - 1));
  };
  new MutationObserver(refresh).observe(document.documentElement, {childList: true, subtree: true});
  document.addEventListener('click', (ev) => {
    const a = ev.target.closest && ev.target.closest('#qa-chat a.qa-marker');
    if (!a) return;
    ev.preventDefault();
    ev.stopPropagation();
    if (!a.closest('.qa-live')) return;
    const card = document.getElementById(a.getAttribute('href').slice(1));
    if (!card) return;
    card.scrollIntoView({behavior: 'smooth', block: 'center'});
    card.classList.remove('qa-flash');
    void card.offsetWidth;  // restart the animation
    card.classList.add('qa-flash');
    card.setAttribute('tabindex', '-1');
    card.focus({preventScroll: true});
  }, true);
  // Files over the limit stay in the browser; the others are uploaded, and the Library's
  // results name the ones kept back.
  const mb = (n) => (n / 1e6).toFixed(1);
  const report = (refused, pending) => {
    const box = document.querySelector('#qa-refused textarea, #qa-refused input');
    if (!box) return;
    box.value = JSON.stringify({refused, pending});
    box.dispatchEvent(new Event('input', {bubbles: true}));
  };
  const split = (files) => {
    const keep = new DataTransfer(), refused = [];
    for (const f of files) {
      if (f.size > LIMIT) refused.push(`${f.name}: file is ${mb(f.size)} MB, over the ` +
        `${Math.round(LIMIT / 1e6)} MB limit; it was not uploaded`);
      else keep.items.add(f);
    }
    return {keep, refused};
  };
  document.addEventListener('change', (ev) => {
    const input = ev.target;
    if (!(input instanceof HTMLInputElement) || input.type !== 'file' ||
        !input.closest('#qa-upload') || input.dataset.qaChecked) return;
    const {keep, refused} = split(input.files || []);
    if (!refused.length) return;
    ev.stopImmediatePropagation();
    report(refused, keep.files.length);
    if (keep.files.length) {
      input.files = keep.files;
      input.dataset.qaChecked = '1';
      input.dispatchEvent(new Event('change', {bubbles: true}));
      delete input.dataset.qaChecked;
    } else input.value = '';
  }, true);
  document.addEventListener('drop', (ev) => {
    const zone = ev.target.closest && ev.target.closest('#qa-upload');
    const input = zone && zone.querySelector('input[type=file]');
    if (!input || !ev.dataTransfer) return;
    const {keep, refused} = split(ev.dataTransfer.files);
    if (!refused.length) return;
    ev.preventDefault();
    ev.stopImmediatePropagation();
    report(refused, keep.files.length);
    if (keep.files.length) {
      input.files = keep.files;
      input.dataset.qaChecked = '1';
      input.dispatchEvent(new Event('change', {bubbles: true}));
      delete input.dataset.qaChecked;
    }
  }, true);
})();
</script>
"""


def page_script(max_file_mb: float) -> str:
    """The ``<head>`` script: marker links and the browser-side upload limit (``max_file_mb``)."""
    return _SCRIPT.replace("__LIMIT__", json.dumps(int(max_file_mb * 1e6)))

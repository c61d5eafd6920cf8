// mailscout helpdesk page: progressive enhancement only. Without this script the forms GET
// /?target=… and the server answers with the result; with it, the wait shows live progress
// from /v1/discover/stream and the copy buttons appear. Server text is only ever assigned to
// textContent, never parsed as HTML.
"use strict";

(function () {
  function $(id) { return document.getElementById(id); }

  // --- live progress ---------------------------------------------------------------------

  var progress = $("progress");

  function line(cls, text) {
    var log = $("progress-log");
    var li = document.createElement("li");
    li.className = cls;
    li.textContent = text;
    log.insertBefore(li, log.firstChild);
    while (log.children.length > 14) log.removeChild(log.lastChild);
  }

  function describe(ev) {
    if (ev.kind === "source") {
      return { cls: "src", text: ev.source + " " + (ev.name || "") + (ev.ok ? "" : " — " + (ev.error || "nothing")) };
    }
    var what = ev.protocol + " " + ev.host + ":" + ev.port + " " + ev.security;
    if (ev.kind === "login") what = "login " + what;
    if (ev.ok) return { cls: "ok", text: "✓ " + what + (ev.verdict ? " — " + ev.verdict : "") };
    return { cls: "fail", text: "✗ " + what + " — " + (ev.error_kind || ev.error || "failed") };
  }

  function showProgress(target, refresh, form) {
    var started = false, finished = false;
    progress.hidden = false;
    $("page-content").hidden = true;
    $("progress-target").textContent = target;
    $("progress-log").textContent = "";
    $("progress-count").textContent = "Looking up DNS and autoconfig…";
    $("progress-bar").style.width = "4%";
    progress.scrollIntoView({ behavior: "smooth", block: "start" });

    var url = "/v1/discover/stream?target=" + encodeURIComponent(target) + (refresh ? "&refresh=1" : "");
    var es = new EventSource(url);

    // The server could not stream (bad target, rate limit, busy…) or the connection broke:
    // let the plain form submission show the server's own answer.
    function fallBack() {
      es.close();
      if (finished) return;
      finished = true;
      $("progress-count").textContent = started ? "The connection was lost; waiting for the result…" : "Checking…";
      form.submit();
    }

    es.addEventListener("progress", function (e) {
      started = true;
      var ev = JSON.parse(e.data);
      var d = describe(ev);
      line(d.cls, d.text);
      if (ev.total > 0) {
        $("progress-count").textContent = ev.done + " of " + ev.total + " checks done";
        $("progress-bar").style.width = Math.max(4, Math.round(100 * ev.done / ev.total)) + "%";
      }
    });
    es.addEventListener("report", function () {
      started = true;
      $("progress-bar").style.width = "100%";
      $("progress-count").textContent = "Done.";
    });
    es.addEventListener("done", function (e) {
      finished = true;
      es.close();
      var d = JSON.parse(e.data);
      if (d.permalink) {
        window.location.assign(d.permalink);
      } else {
        form.submit(); // not stored: the server renders it directly
      }
    });
    es.addEventListener("error", function (e) {
      if (e.data) { // an "error" event the server sent: say it, then stop
        finished = true;
        es.close();
        var body = JSON.parse(e.data);
        $("progress-count").textContent = body.error ? body.error.message : "The check failed.";
        $("progress-count").className = "bad-text";
        return;
      }
      fallBack(); // the connection itself failed
    });
  }

  function enhanceForm(form) {
    form.addEventListener("submit", function (e) {
      if (!progress || !window.EventSource) return; // no progress panel here: plain navigation
      var input = form.querySelector("input[name=target]");
      var target = input ? input.value.trim() : "";
      if (!target) return;
      e.preventDefault();
      var refresh = form.querySelector("input[name=refresh]");
      showProgress(target, refresh && refresh.value === "1", form);
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("form.check-form"), enhanceForm);

  Array.prototype.forEach.call(document.querySelectorAll("a.example"), function (a) {
    a.addEventListener("click", function (e) {
      var form = document.querySelector("form.big-form");
      var input = form && form.querySelector("input[name=target]");
      if (!input || !progress || !window.EventSource) return;
      e.preventDefault();
      input.value = a.textContent;
      showProgress(a.textContent, false, form);
    });
  });

  // --- copy buttons ----------------------------------------------------------------------

  function copy(text, button) {
    function done() {
      button.textContent = "Copied";
      button.classList.add("done");
      setTimeout(function () { button.textContent = button.dataset.label; button.classList.remove("done"); }, 1500);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(text) && done(); });
    } else if (fallbackCopy(text)) {
      done();
    }
  }

  // Plain-HTTP pages (no secure context) have no Clipboard API: copy from a hidden textarea.
  function fallbackCopy(text) {
    var ta = document.createElement("textarea");
    ta.value = text;
    ta.setAttribute("readonly", "");
    ta.style.position = "fixed";
    ta.style.opacity = "0";
    document.body.appendChild(ta);
    ta.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (err) { ok = false; }
    document.body.removeChild(ta);
    return ok;
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-copy]"), function (el) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "copy";
    b.dataset.label = "Copy";
    b.textContent = "Copy";
    b.setAttribute("aria-label", "Copy " + el.textContent);
    b.addEventListener("click", function () { copy(el.textContent, b); });
    el.insertAdjacentElement("afterend", b);
  });

  Array.prototype.forEach.call(document.querySelectorAll("[data-copy-url]"), function (b) {
    b.hidden = false;
    b.dataset.label = b.textContent;
    b.addEventListener("click", function () { copy(new URL(b.dataset.copyUrl, window.location.href).href, b); });
  });
})();

// Nice Pick: send the "Disagree with our pick?" form without leaving the page.
// Progressive enhancement only: without this script the form posts and the server redirects
// (303) or re-renders the whole page (422, 429, 503: the reader's text kept). With it, we
// post the same fields with fetch, take the page the server answers with, and swap in its
// #feedback section. No inline script, so
// it runs under a strict Content-Security-Policy.
(function () {
  "use strict";

  // The page's nonce is shared by everyone who got these cached bytes; give this reader one
  // of their own. A form the server re-rendered keeps the nonce the reader sent (no
  // data-nonce), so sending it again is recognised as the same sending.
  function ownNonce(form) {
    var field = form.querySelector("input[name=nonce][data-nonce=page]");
    if (!field || !window.crypto || !window.crypto.getRandomValues) {
      return;
    }
    var bytes = window.crypto.getRandomValues(new Uint8Array(16));
    var hex = "";
    for (var i = 0; i < bytes.length; i++) {
      hex += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
    }
    field.value = hex;
    field.removeAttribute("data-nonce");
  }

  function enhance(form) {
    ownNonce(form);
    form.addEventListener("submit", function (event) {
      if (!window.fetch || !window.DOMParser || !window.URLSearchParams) {
        return; // old browser: let the normal post happen
      }
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
      if (button) {
        button.disabled = true;
      }
      var body = new URLSearchParams(new FormData(form));
      fetch(form.action, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        redirect: "follow",
        headers: { "Accept": "text/html" }
      })
        .then(function (response) {
          return response.text().then(function (html) {
            return { response: response, html: html };
          });
        })
        .then(function (result) {
          var doc = new DOMParser().parseFromString(result.html, "text/html");
          var fresh = doc.getElementById("feedback");
          var current = document.getElementById("feedback");
          if (!current) {
            return;
          }
          if (!fresh) {
            // An error page without the form (413, 400...): its message above the form, text kept.
            var lede = doc.querySelector(".lede");
            var notice = current.querySelector("#feedback-errors") || document.createElement("div");
            notice.id = "feedback-errors";
            notice.className = "notice notice-error";
            notice.setAttribute("role", "alert");
            notice.setAttribute("tabindex", "-1");
            notice.textContent = lede ? lede.textContent : "Your note could not be sent.";
            form.parentNode.insertBefore(notice, form);
            notice.focus();
            if (button) {
              button.disabled = false;
            }
            return;
          }
          current.replaceWith(fresh);
          var focus = fresh.querySelector("#feedback-thanks, #feedback-errors");
          if (focus) {
            // The section's heading stays in view above the notice it announces.
            fresh.scrollIntoView({ block: "start" });
            focus.focus({ preventScroll: true });
          }
          var next = fresh.querySelector("form[data-feedback-form]");
          if (next) {
            enhance(next);
          }
          if (result.response.redirected && window.history.replaceState) {
            window.history.replaceState(null, "", result.response.url);
          }
        })
        .catch(function () {
          // Network trouble: fall back to the plain form post.
          if (button) {
            button.disabled = false;
          }
          form.submit();
        });
    });
  }

  var forms = document.querySelectorAll("form[data-feedback-form]");
  for (var i = 0; i < forms.length; i++) {
    enhance(forms[i]);
  }
})();

/* The landing page: shows the current session (/api/v1/sessions/me, by the
 * sid cookie) and signs out (DELETE /api/v1/sessions/me). */
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("config").textContent);
  document.getElementById("org").textContent = config.orgName;
  const list = document.getElementById("session");
  const errorBox = document.getElementById("error");
  const AMR = { pwd: "password", otp: "authenticator code", sms: "text message", tel: "voice call",
                email: "email code", kba: "security question", hwk: "security key or passkey",
                mfa: "multi-factor" };

  function row(term, value) {
    const dt = document.createElement("dt");
    dt.textContent = term;
    const dd = document.createElement("dd");
    dd.textContent = value;
    list.append(dt, dd);
  }

  function when(iso) {
    return iso ? new Date(iso).toLocaleString() : "—";
  }

  function show(session) {
    list.replaceChildren();
    row("Signed in as", session.login);
    row("Session", session.id);
    row("Started", when(session.createdAt));
    row("Expires", when(session.expiresAt));
    row("Verified with", session.amr.map((a) => AMR[a] || a).join(", "));
    row("Second factor", session.mfaActive ? "enrolled" : "none");
  }

  async function load(method, path) {
    const response = await fetch(path, { method, credentials: "same-origin", headers: { Accept: "application/json" } });
    if (response.status === 404) { location.assign("/signin"); return null; }
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      errorBox.textContent = body.errorSummary || "Something went wrong.";
      errorBox.hidden = false;
      return null;
    }
    return response.status === 204 ? {} : response.json();
  }

  document.getElementById("refresh").addEventListener("click", async () => {
    const session = await load("POST", "/api/v1/sessions/me/lifecycle/refresh");
    if (session) show(session);
  });
  document.getElementById("signout").addEventListener("click", async () => {
    if (await load("DELETE", "/api/v1/sessions/me")) location.assign("/signin");
  });
  load("GET", "/api/v1/sessions/me").then((session) => session && show(session));
})();

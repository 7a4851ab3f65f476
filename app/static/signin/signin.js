/* Portcullis sign-in page: a client of the /api/v1/authn transaction API.
 *
 * Plain JavaScript, no build step. Every answer of the server is a
 * transaction with a `status`; `render()` shows the form for that status and
 * each form posts to the link the server offered. On SUCCESS the page posts a
 * form to /login/sessionCookieRedirect, which sets the session cookie and
 * lands on the configured page.
 */
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("config").textContent);
  const view = document.getElementById("view");
  const title = document.getElementById("title");
  const subtitle = document.getElementById("subtitle");
  const errorBox = document.getElementById("error");
  document.getElementById("org").textContent = config.orgName;

  const FACTOR_NAMES = {
    "token:software:totp/GOOGLE": "Google Authenticator",
    "token:software:totp/OKTA": "Okta Verify (code)",
    "sms/OKTA": "Text message (SMS)",
    "call/OKTA": "Voice call",
    "email/OKTA": "Email",
    "question/OKTA": "Security question",
    "webauthn/FIDO": "Security key or passkey",
  };
  let state = null; // the last transaction answer

  // ---- helpers ----------------------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  function field(label, name, type, extra) {
    return el("label", {}, label, el("input", Object.assign({ name, type, required: true }, extra || {})));
  }

  function codeField(label) {
    return field(label || "Code", "passCode", "text", {
      inputmode: "numeric", autocomplete: "one-time-code", pattern: "[0-9]{6}",
      maxlength: "6", class: "code",
    });
  }

  function factorName(factor) {
    return FACTOR_NAMES[factor.factorType + "/" + factor.provider] || factor.factorType;
  }

  function showError(body) {
    errorBox.replaceChildren();
    if (!body) { errorBox.hidden = true; return; }
    errorBox.append(body.errorSummary || "Something went wrong. Please try again.");
    const causes = (body.errorCauses || []).map((c) => c.errorSummary).filter(Boolean);
    if (causes.length) errorBox.append(el("ul", {}, causes.map((c) => el("li", { text: c }))));
    errorBox.hidden = false;
  }

  function screen(heading, text, ...content) {
    title.textContent = heading;
    subtitle.textContent = text || "";
    view.replaceChildren(...content);
    title.focus();
    const first = view.querySelector("input, select");
    if (first) first.focus();
  }

  async function call(path, body) {
    const response = await fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error(answer.errorSummary || response.statusText);
      error.body = answer;
      error.status = response.status;
      throw error;
    }
    return answer;
  }

  // ---- WebAuthn: Okta's wire format is base64url for every byte field ---------------------

  function fromB64url(text) {
    const b64 = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
    return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  }

  function toB64url(buffer) {
    let binary = "";
    for (const byte of new Uint8Array(buffer)) binary += String.fromCharCode(byte);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function webauthnUnavailable() {
    if (window.PublicKeyCredential && navigator.credentials) return null;
    return { errorSummary: "This browser cannot use security keys or passkeys here (it needs https, or localhost)." };
  }

  /** navigator.credentials.create with MFA_ENROLL_ACTIVATE's options → the activate body. */
  async function registerKey(activation) {
    const options = Object.assign({}, activation, {
      challenge: fromB64url(activation.challenge),
      user: Object.assign({}, activation.user, { id: fromB64url(activation.user.id) }),
      excludeCredentials: (activation.excludeCredentials || []).map((c) => Object.assign({}, c, { id: fromB64url(c.id) })),
    });
    const credential = await navigator.credentials.create({ publicKey: options });
    return {
      attestation: toB64url(credential.response.attestationObject),
      clientData: toB64url(credential.response.clientDataJSON),
    };
  }

  /** navigator.credentials.get for MFA_CHALLENGE's challenge → the verify body. */
  async function signWithKey(challenge, factor) {
    const allow = factor.profile && factor.profile.credentialId
      ? [{ type: "public-key", id: fromB64url(factor.profile.credentialId) }] : [];
    const credential = await navigator.credentials.get({ publicKey: {
      challenge: fromB64url(challenge.challenge),
      rpId: config.webauthnRpId,
      allowCredentials: allow,
      userVerification: challenge.userVerification || "preferred",
    } });
    return {
      clientData: toB64url(credential.response.clientDataJSON),
      authenticatorData: toB64url(credential.response.authenticatorData),
      signatureData: toB64url(credential.response.signature),
    };
  }

  /** A button that runs a WebAuthn ceremony, then posts its answer to `path`. */
  function keyButton(label, path, ceremony, extra) {
    const button = el("button", { type: "button", class: "primary", text: label });
    button.addEventListener("click", async () => {
      const unavailable = webauthnUnavailable();
      if (unavailable) return showError(unavailable);
      button.disabled = true;
      showError(null);
      try {
        const answer = await ceremony();
        render(await call(path, Object.assign({ stateToken: state.stateToken }, answer, extra ? extra() : {})));
      } catch (error) {
        if (error.name === "NotAllowedError" || error.name === "AbortError") {
          showError({ errorSummary: "The security key did not answer (cancelled or timed out). Try again." });
        } else {
          onFailure(error);
        }
      } finally {
        button.disabled = false;
      }
    });
    return button;
  }

  function pathOf(href) {
    const url = new URL(href, location.origin);
    return url.pathname + url.search;
  }

  /** A form whose submit posts `build(form)` to `path` and renders the answer. */
  function form(path, build, submitLabel, ...fields) {
    const button = el("button", { type: "submit", class: "primary", text: submitLabel });
    const node = el("form", { novalidate: false }, ...fields, button);
    node.addEventListener("submit", async (event) => {
      event.preventDefault();
      button.disabled = true;
      try {
        const data = Object.fromEntries(new FormData(node).entries());
        render(await call(path, build(data)));
      } catch (error) {
        onFailure(error);
      } finally {
        button.disabled = false;
      }
    });
    return node;
  }

  function onFailure(error) {
    if (error.status === 401 && error.body && error.body.errorCode === "E0000011") {
      showError({ errorSummary: "Your sign-in took too long or was cancelled. Please start again." });
      state = null;
      return signIn();
    }
    showError(error.body || { errorSummary: error.message });
  }

  function action(label, path, extra, cls) {
    return el("button", {
      type: "button", class: cls || "link", text: label,
      onclick: async () => {
        try { render(await call(path, Object.assign({ stateToken: state.stateToken }, extra || {}))); }
        catch (error) { onFailure(error); }
      },
    });
  }

  function cancelLink() {
    return el("div", { class: "links" }, action("Back to sign in", "/api/v1/authn/cancel"));
  }

  // ---- screens ------------------------------------------------------------------------------

  function signIn() {
    screen("Sign in", "", form(
      "/api/v1/authn",
      (d) => ({ username: d.username, password: d.password,
                options: { warnBeforePasswordExpired: true, multiOptionalFactorEnroll: false } }),
      "Sign in",
      field("Username", "username", "text", { autocomplete: "username" }),
      field("Password", "password", "password", { autocomplete: "current-password" }),
    ), el("div", { class: "links" },
      el("button", { type: "button", class: "link", text: "Forgot password?", onclick: () => recover("password") }),
      el("button", { type: "button", class: "link", text: "Unlock account", onclick: () => recover("unlock") }),
    ));
  }

  function recover(kind) {
    showError(null);
    const heading = kind === "password" ? "Reset your password" : "Unlock your account";
    screen(heading, "We'll send a code or a link to the phone or email on your account.", form(
      "/api/v1/authn/recovery/" + kind,
      (d) => ({ username: d.username, factorType: d.factorType }),
      "Send",
      field("Username", "username", "text", { autocomplete: "username" }),
      el("label", {}, "Send it by",
        el("select", { name: "factorType" },
          el("option", { value: "EMAIL", text: "Email" }),
          el("option", { value: "SMS", text: "Text message (SMS)" }),
          el("option", { value: "CALL", text: "Voice call" }))),
    ), el("div", { class: "links" },
      el("button", { type: "button", class: "link", text: "Back to sign in", onclick: () => { showError(null); signIn(); } })));
  }

  function changePassword(tx, warn) {
    const days = warn && tx._embedded.policy.expiration ? tx._embedded.policy.expiration.passwordExpireDays : null;
    const text = warn ? `Your password expires in ${days} day${days === 1 ? "" : "s"}. Change it now?`
                      : "Your password has expired. Choose a new one.";
    const content = [form(
      pathOf(tx._links.next.href),
      (d) => ({ stateToken: tx.stateToken, oldPassword: d.oldPassword, newPassword: d.newPassword }),
      "Change password",
      field("Current password", "oldPassword", "password", { autocomplete: "current-password" }),
      field("New password", "newPassword", "password", { autocomplete: "new-password" }),
      requirements(tx),
    )];
    if (warn && tx._links.skip) content.push(el("div", { class: "links" }, action("Remind me later", "/api/v1/authn/skip")));
    else content.push(cancelLink());
    screen(warn ? "Your password will expire soon" : "Change your password", text, ...content);
  }

  function requirements(tx) {
    const c = (tx._embedded.policy || {}).complexity;
    if (!c) return null;
    const rules = [`at least ${c.minLength} characters`];
    if (c.minLowerCase) rules.push("a lowercase letter");
    if (c.minUpperCase) rules.push("an uppercase letter");
    if (c.minNumber) rules.push("a number");
    if (c.minSymbol) rules.push("a symbol");
    if (c.excludeUsername) rules.push("no parts of your username");
    return el("p", { class: "hint", text: "Password requirements: " + rules.join(", ") + "." });
  }

  function mfaRequired(tx) {
    const factors = tx._embedded.factors;
    screen("Verify it's you", "Choose how to confirm your sign-in.",
      el("ul", { class: "factors" }, factors.map((f) => el("li", {},
        el("button", { type: "button", onclick: () => verifyScreen(tx, f) },
          el("span", { text: factorName(f) }),
          el("span", { class: "tag", text: describe(f) }))))),
      cancelLink());
  }

  function describe(factor) {
    const p = factor.profile || {};
    return p.phoneNumber || p.email || p.authenticatorName || p.credentialId || (factor.factorType === "question" ? "answer" : "");
  }

  function rememberBox(tx) {
    const policy = tx._embedded.policy || {};
    if (!policy.allowRememberDevice) return null;
    return el("label", { class: "row" },
      el("span", { text: `Don't ask again on this device for ${policy.rememberDeviceLifetimeInMinutes} minutes` }),
      el("input", { type: "checkbox", name: "rememberDevice", checked: policy.rememberDeviceByDefault || false }));
  }

  function verifyScreen(tx, factor) {
    showError(null);
    const path = pathOf(factor._links.verify.href);
    if (["sms", "call", "email"].includes(factor.factorType)) {
      const verb = { sms: "Text me a code", call: "Call me", email: "Email me a code" }[factor.factorType];
      return screen(factorName(factor), `We'll send a code to ${describe(factor)}.`,
        form(path, () => ({ stateToken: tx.stateToken }), verb),
        el("div", { class: "links" }, el("button", { type: "button", class: "link", text: "Choose another way", onclick: () => mfaRequired(tx) })));
    }
    if (factor.factorType === "webauthn") {
      return screen(factorName(factor), `Use ${describe(factor) || "your security key or passkey"} to confirm it's you.`,
        form(path, () => ({ stateToken: tx.stateToken }), "Use my security key"),
        el("div", { class: "links" }, el("button", { type: "button", class: "link", text: "Choose another way", onclick: () => mfaRequired(tx) })));
    }
    const input = factor.factorType === "question"
      ? field(factor.profile.questionText, "answer", "password", { autocomplete: "off" })
      : codeField("Enter the code from " + factorName(factor));
    screen(factorName(factor), "",
      form(path, (d) => verifyBody(tx, d), "Verify", input, rememberBox(tx)),
      el("div", { class: "links" }, el("button", { type: "button", class: "link", text: "Choose another way", onclick: () => mfaRequired(tx) })));
  }

  function verifyBody(tx, d) {
    const body = { stateToken: tx.stateToken };
    if (d.answer !== undefined) body.answer = d.answer;
    if (d.passCode !== undefined) body.passCode = d.passCode.trim();
    if (d.rememberDevice) body.rememberDevice = true;
    return body;
  }

  function mfaChallenge(tx) {
    const factor = tx._embedded.factor;
    const challenge = factor._embedded && factor._embedded.challenge;
    if (challenge) {
      const remember = rememberBox(tx);
      return screen("Use your security key", `Touch or unlock ${describe(factor) || "your security key or passkey"} when your browser asks.`,
        keyButton("Continue", pathOf(tx._links.next.href), () => signWithKey(challenge, factor),
          () => (remember && remember.querySelector("input").checked ? { rememberDevice: true } : {})),
        remember,
        el("div", { class: "links" }, action("Choose another way", "/api/v1/authn/previous")));
    }
    const resend = (tx._links.resend || [])[0];
    screen("Enter your code", `We sent a code to ${describe(factor)}.`,
      form(pathOf(tx._links.next.href), (d) => verifyBody(tx, d), "Verify", codeField(), rememberBox(tx)),
      el("div", { class: "links" },
        resend ? action("Send again", pathOf(resend.href)) : null,
        action("Choose another way", "/api/v1/authn/previous")));
  }

  function mfaEnroll(tx) {
    const factors = tx._embedded.factors.filter((f) => f.status === "NOT_SETUP");
    screen("Set up a second factor", "Your organisation asks for an extra way to confirm it's you.",
      el("ul", { class: "factors" }, factors.map((f) => el("li", {},
        el("button", { type: "button", onclick: () => enrollScreen(tx, f) },
          el("span", { text: factorName(f) }),
          el("span", { class: "tag" + (f.enrollment === "REQUIRED" ? " required" : ""), text: f.enrollment.toLowerCase() }))))),
      el("div", { class: "links" },
        tx._links.skip ? action("Skip for now", "/api/v1/authn/skip") : null,
        action("Back to sign in", "/api/v1/authn/cancel")));
  }

  async function enrollScreen(tx, factor) {
    showError(null);
    const base = { stateToken: tx.stateToken, factorType: factor.factorType, provider: factor.provider };
    const back = el("div", { class: "links" }, el("button", { type: "button", class: "link", text: "Back", onclick: () => mfaEnroll(tx) }));
    if (factor.factorType.startsWith("token:software:totp") || factor.factorType === "email" || factor.factorType === "webauthn") {
      try { render(await call("/api/v1/authn/factors", base)); } catch (error) { onFailure(error); }
      return;
    }
    if (factor.factorType === "question") {
      let questions = [];
      try {
        const response = await fetch(pathOf(factor._links.questions.href), { headers: { Accept: "application/json" } });
        questions = await response.json();
      } catch (error) { return onFailure(error); }
      return screen("Choose a security question", "", form("/api/v1/authn/factors",
        (d) => Object.assign({}, base, { profile: { question: d.question, answer: d.answer } }), "Save",
        el("label", {}, "Question", el("select", { name: "question" },
          questions.map((q) => el("option", { value: q.question, text: q.questionText })))),
        field("Answer", "answer", "text", { autocomplete: "off", minlength: "4" })), back);
    }
    screen(factorName(factor), "Enter a phone number that can receive a code.", form("/api/v1/authn/factors",
      (d) => Object.assign({}, base, { profile: { phoneNumber: d.phoneNumber } }),
      factor.factorType === "call" ? "Call me" : "Send code",
      field("Phone number", "phoneNumber", "tel", { autocomplete: "tel", placeholder: "+1 555 123 4567" })), back);
  }

  function mfaEnrollActivate(tx) {
    const factor = tx._embedded.factor;
    const activation = factor._embedded && factor._embedded.activation;
    if (factor.factorType === "webauthn") {
      return screen("Set up a security key or passkey", "Insert or unlock your security key, or use this device's passkey, when your browser asks.",
        keyButton("Register", pathOf(tx._links.next.href), () => registerKey(activation)),
        el("div", { class: "links" }, action("Back", "/api/v1/authn/previous")));
    }
    const resend = (tx._links.resend || [])[0];
    const parts = [];
    let text = `Enter the code we sent to ${describe(factor)}.`;
    if (activation) {
      text = "Scan the QR code with your authenticator app, then enter the 6-digit code it shows.";
      parts.push(el("div", { class: "qr" }, el("img", { src: activation._links.qrcode.href, alt: "QR code for your authenticator app" })));
      parts.push(el("p", { class: "hint", text: "Can't scan it? Enter this key in the app:" }));
      parts.push(el("div", { class: "secret", text: activation.sharedSecret }));
    }
    screen("Set up " + factorName(factor), text, ...parts,
      form(pathOf(tx._links.next.href), (d) => ({ stateToken: tx.stateToken, passCode: d.passCode.trim() }), "Verify", codeField()),
      el("div", { class: "links" },
        resend ? action("Send again", pathOf(resend.href)) : null,
        action("Back", "/api/v1/authn/previous")));
  }

  function recoveryChallenge(tx) {
    if (!tx.stateToken) {
      return screen("Check your email", "",
        el("p", { class: "notice", text: "If the account exists, we sent an email with a link. Open it to continue." }),
        el("div", { class: "links" }, el("button", { type: "button", class: "link", text: "Back to sign in", onclick: signIn })));
    }
    screen("Enter your code", `We sent a code by ${tx.factorType === "CALL" ? "voice call" : "text message"}.`,
      form(pathOf(tx._links.next.href), (d) => ({ stateToken: tx.stateToken, passCode: d.passCode.trim() }), "Verify", codeField()),
      el("div", { class: "links" }, action("Send again", pathOf(tx._links.resend.href)), action("Back to sign in", "/api/v1/authn/cancel")));
  }

  function recoveryQuestion(tx) {
    const question = tx._embedded.user.recovery_question.question;
    screen("Answer your security question", "",
      form(pathOf(tx._links.next.href), (d) => ({ stateToken: tx.stateToken, answer: d.answer }), "Continue",
        field(question, "answer", "password", { autocomplete: "off" })),
      cancelLink());
  }

  function passwordReset(tx) {
    screen("Choose a new password", "",
      form(pathOf(tx._links.next.href), (d) => ({ stateToken: tx.stateToken, newPassword: d.newPassword }), "Save password",
        field("New password", "newPassword", "password", { autocomplete: "new-password" }), requirements(tx)),
      cancelLink());
  }

  function success(tx) {
    if (!tx.sessionToken) {  // an unlock: the user signs in again
      showError(null);
      signIn();
      subtitle.textContent = "Your account is unlocked. Sign in to continue.";
      return;
    }
    screen("Signing you in…", "");
    // A POSTed form rather than Okta's ?token= URL: the one-time sessionToken
    // stays out of server logs and the browser's history (ASVS 3.1.1).
    const handOff = document.createElement("form");
    handOff.method = "POST";
    handOff.action = "/login/sessionCookieRedirect";
    handOff.hidden = true;
    for (const [name, value] of [["token", tx.sessionToken], ["redirectUrl", config.redirectUrl]]) {
      const input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      input.value = value;
      handOff.append(input);
    }
    document.body.append(handOff);
    handOff.submit();
  }

  function render(tx) {
    state = tx;
    showError(null);
    switch (tx.status) {
      case "SUCCESS": return success(tx);
      case "PASSWORD_WARN": return changePassword(tx, true);
      case "PASSWORD_EXPIRED": return changePassword(tx, false);
      case "MFA_REQUIRED": return mfaRequired(tx);
      case "MFA_CHALLENGE": return mfaChallenge(tx);
      case "MFA_ENROLL": return mfaEnroll(tx);
      case "MFA_ENROLL_ACTIVATE": return mfaEnrollActivate(tx);
      case "RECOVERY_CHALLENGE": return recoveryChallenge(tx);
      case "RECOVERY": return recoveryQuestion(tx);
      case "PASSWORD_RESET": return passwordReset(tx);
      case "LOCKED_OUT":
        signIn();
        showError({ errorSummary: "Your account is locked. Use “Unlock account” below, or ask an administrator." });
        return;
      default:
        return signIn();
    }
  }

  // ---- start: a plain sign-in, or a link from an email -----------------------------------------

  async function start() {
    const token = config.token;
    try {
      if (config.mode === "recovery" && token) return render(await call("/api/v1/authn/recovery/token", { recoveryToken: token }));
      if (config.mode === "activation" && token) return render(await call("/api/v1/authn", { token }));
    } catch (error) {
      signIn();
      showError({ errorSummary: "This link has expired or has already been used. Please start again." });
      return;
    }
    signIn();
  }

  start();
})();

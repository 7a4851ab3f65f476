// The real @okta/okta-auth-js (pinned in package.json) against a live
// Portcullis, in Node: the classic Authentication API, as an application
// built on the SDK drives it. Run by tests/compat/test_okta_auth_js.py:
//
//   node flows.mjs <scenario> '<json: {base, login, password, secret?}>'
//
// Each scenario checks what a client sees with node:assert and prints one
// JSON line that the pytest side checks again (statuses walked, the session
// it ended with). A failed check exits non-zero with the assertion on stderr.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { OktaAuth, AuthApiError } from '@okta/okta-auth-js';

// ---- RFC 6238 TOTP (HMAC-SHA1, 30-second steps, 6 digits) --------------------

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32Decode(text) {
  const bytes = [];
  let value = 0;
  let bits = 0;
  for (const char of text.replace(/=+$/, '').toUpperCase()) {
    const index = BASE32.indexOf(char);
    if (index < 0) throw new Error(`not base32: ${char}`);
    value = ((value << 5) | index) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(bytes);
}

function hotp(key, counter, digits = 6) {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', key).update(message).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const number = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(number % 10 ** digits).padStart(digits, '0');
}

const currentStep = () => Math.floor(Date.now() / 1000 / 30);
const totp = (secret, step = currentStep()) => hotp(base32Decode(secret), step);

// RFC 6238 appendix B (SHA-1, 8 digits), so a broken helper fails loudly here.
const rfcKey = Buffer.from('12345678901234567890');
assert.equal(hotp(rfcKey, Math.floor(59 / 30), 8), '94287082');
assert.equal(hotp(rfcKey, Math.floor(1111111109 / 30), 8), '07081804');
assert.equal(base32Decode('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ').toString(), '12345678901234567890');

/** Six digits that match none of the codes the server would accept now. */
function wrongCode(secret) {
  const step = currentStep();
  const valid = new Set([-2, -1, 0, 1, 2].map((skew) => totp(secret, step + skew)));
  return ['000000', '111111', '222222'].find((code) => !valid.has(code));
}

// ---- helpers -----------------------------------------------------------------

function client(base) {
  // The classic authn calls go to the issuer's origin: ${origin}/api/v1/authn.
  return new OktaAuth({ issuer: `${base}/oauth2/default`, clientId: 'portcullis-compat' });
}

async function expectAuthApiError(promise, errorCode, status) {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof AuthApiError, `expected an AuthApiError, got ${error}`);
    assert.equal(error.errorCode, errorCode, error.errorSummary);
    assert.equal(error.xhr?.status, status);
    assert.ok(error.errorSummary, 'errorSummary is shown to users');
    return { errorCode: error.errorCode, errorSummary: error.errorSummary, status };
  }
  assert.fail(`expected ${errorCode}, the call succeeded`);
}

function totpFactor(transaction) {
  const factor = transaction.factors.find(
    (f) => f.factorType === 'token:software:totp' && f.provider === 'GOOGLE',
  );
  assert.ok(factor, `no Google Authenticator among ${JSON.stringify(transaction.factors)}`);
  return factor;
}

/** What session.setCookieAndRedirect does in a browser, by hand (Node has no
 * window.location): the browser goes to /login/sessionCookieRedirect, gets a
 * 302 with the sid cookie, and that cookie reads /api/v1/sessions/me. */
async function exchangeForCookie(base, sessionToken) {
  const redirectUrl = `${base}/app`;
  const url = new URL('/login/sessionCookieRedirect', base);
  url.search = new URLSearchParams({ token: sessionToken, redirectUrl }).toString();
  const answer = await fetch(url, { redirect: 'manual' });
  assert.equal(answer.status, 302);
  assert.equal(answer.headers.get('location'), redirectUrl);
  const cookies = answer.headers.getSetCookie();
  const sid = cookies.find((cookie) => cookie.startsWith('sid='));
  assert.ok(sid, `no sid cookie in ${JSON.stringify(cookies)}`);
  assert.match(sid, /HttpOnly/i);
  const me = await fetch(new URL('/api/v1/sessions/me', base), {
    headers: { Cookie: sid.split(';')[0], Accept: 'application/json' },
  });
  assert.equal(me.status, 200);
  const session = await me.json();
  // The token is spent: a second hand-off with it sets no cookie.
  const again = await fetch(url, { redirect: 'manual' });
  assert.equal(again.status, 401);
  assert.equal(again.headers.getSetCookie().length, 0);
  return session;
}

// ---- scenarios -----------------------------------------------------------------

const scenarios = {
  /** primary auth → MFA_REQUIRED → TOTP verify → SUCCESS → cookie hand-off. */
  async 'mfa-required'({ base, login, password, secret }) {
    const authClient = client(base);
    const statuses = [];
    let transaction = await authClient.signInWithCredentials({ username: login, password });
    statuses.push(transaction.status);
    assert.equal(transaction.status, 'MFA_REQUIRED');
    assert.equal(transaction.user.profile.login, login);
    assert.equal(typeof transaction.cancel, 'function');
    const factor = totpFactor(transaction);
    assert.equal(typeof factor.verify, 'function');
    transaction = await factor.verify({ passCode: totp(secret) });
    statuses.push(transaction.status);
    assert.equal(transaction.status, 'SUCCESS');
    assert.ok(transaction.sessionToken);
    assert.equal(transaction.user.profile.login, login);
    const session = await exchangeForCookie(base, transaction.sessionToken);
    return { statuses, session };
  },

  /** MFA_ENROLL → enroll Google Authenticator → MFA_ENROLL_ACTIVATE → activate → SUCCESS. */
  async 'mfa-enroll'({ base, login, password }) {
    const authClient = client(base);
    const statuses = [];
    let transaction = await authClient.signInWithCredentials({ username: login, password });
    statuses.push(transaction.status);
    assert.equal(transaction.status, 'MFA_ENROLL');
    const choice = totpFactor(transaction);
    assert.equal(choice.enrollment, 'REQUIRED');
    assert.equal(choice.status, 'NOT_SETUP');
    assert.equal(typeof transaction.skip, 'undefined', 'a required factor cannot be skipped');
    transaction = await choice.enroll();
    statuses.push(transaction.status);
    assert.equal(transaction.status, 'MFA_ENROLL_ACTIVATE');
    assert.equal(transaction.factorResult, undefined, 'only a push enrolment polls (as Okta records it)');
    const { activation } = transaction.factor;
    assert.equal(activation.encoding, 'base32');
    assert.ok(activation.qrcode.href, 'a QR code link for the authenticator app');
    const qr = await fetch(activation.qrcode.href);
    assert.equal(qr.status, 200);
    assert.equal(qr.headers.get('content-type'), 'image/png');
    assert.equal(typeof transaction.activate, 'function');
    assert.equal(typeof transaction.prev, 'function');
    transaction = await transaction.activate({ passCode: totp(activation.sharedSecret) });
    statuses.push(transaction.status);
    assert.equal(transaction.status, 'SUCCESS');
    assert.ok(transaction.sessionToken);
    const session = await exchangeForCookie(base, transaction.sessionToken);
    return { statuses, session, factorId: transaction.factor?.id ?? null };
  },

  /** MFA_REQUIRED → cancel → UNAUTHENTICATED; the stateToken is dead afterwards. */
  async cancel({ base, login, password }) {
    const authClient = client(base);
    const statuses = [];
    let transaction = await authClient.signInWithCredentials({ username: login, password });
    statuses.push(transaction.status);
    assert.equal(transaction.status, 'MFA_REQUIRED');
    const { stateToken } = transaction.data; // the raw answer; the SDK hides it on the object
    assert.ok(stateToken);
    const resumed = await authClient.tx.resume({ stateToken });
    assert.equal(resumed.status, 'MFA_REQUIRED', 'the transaction can be read back');
    const introspected = await authClient.tx.introspect({ stateToken }); // /api/v1/authn/introspect
    assert.equal(introspected.status, 'MFA_REQUIRED');
    assert.equal(introspected.user.profile.login, login);
    transaction = await transaction.cancel();
    statuses.push(transaction.status);
    assert.equal(transaction.status, 'UNAUTHENTICATED');
    const afterCancel = await expectAuthApiError(authClient.tx.resume({ stateToken }), 'E0000011', 401);
    await expectAuthApiError(authClient.tx.introspect({ stateToken }), 'E0000011', 401);
    return { statuses, afterCancel };
  },

  /** A wrong code (E0000068), then the right one, then that code again in a
   * new sign-in (E0000082), each surfacing as an AuthApiError. */
  async 'wrong-and-replayed-code'({ base, login, password, secret }) {
    const authClient = client(base);
    const statuses = [];
    const badPassword = await expectAuthApiError(
      authClient.signInWithCredentials({ username: login, password: `${password}-nope` }),
      'E0000004',
      401,
    );
    let transaction = await authClient.signInWithCredentials({ username: login, password });
    statuses.push(transaction.status);
    assert.equal(transaction.status, 'MFA_REQUIRED');
    const wrong = await expectAuthApiError(
      totpFactor(transaction).verify({ passCode: wrongCode(secret) }),
      'E0000068',
      403,
    );
    // The transaction survives a wrong code: the same factor, the right code.
    const code = totp(secret);
    transaction = await totpFactor(transaction).verify({ passCode: code });
    statuses.push(transaction.status);
    assert.equal(transaction.status, 'SUCCESS');
    transaction = await authClient.signInWithCredentials({ username: login, password });
    statuses.push(transaction.status);
    assert.equal(transaction.status, 'MFA_REQUIRED');
    const replayed = await expectAuthApiError(
      totpFactor(transaction).verify({ passCode: code }),
      'E0000082',
      403,
    );
    return { statuses, badPassword, wrong, replayed };
  },
};

const [scenario, input] = process.argv.slice(2);
if (!(scenario in scenarios)) {
  console.error(`usage: node flows.mjs <${Object.keys(scenarios).join('|')}> '<json>'`);
  process.exit(2);
}
const result = await scenarios[scenario](JSON.parse(input));
console.log(JSON.stringify(result));

// An application's sign-in page built on the Okta Sign-In Widget, classic
// engine (the /api/v1/authn API), without OIDC: on SUCCESS the widget's
// session.setCookieAndRedirect sends the browser through the server's
// /login/sessionCookieRedirect to this page's landing page.
// The server's address comes in the query string: ?baseUrl=http://…
const baseUrl = new URLSearchParams(window.location.search).get('baseUrl');
const landing = new URL('/landed.html', window.location.href);
landing.searchParams.set('baseUrl', baseUrl);

const signIn = new OktaSignIn({
  baseUrl,
  useClassicEngine: true,
  assets: { baseUrl: '/dist' }, // labels, fonts and images from here, not the CDN
  logoText: 'Acme',
  // factorType webauthn is "Security Key or Biometric Authenticator" only with
  // this flag; without it the classic widget shows it as (legacy) Windows Hello.
  features: { webauthn: true },
});

signIn.renderEl(
  { el: '#okta-login-container' },
  (res) => {
    if (res.status === 'SUCCESS') {
      res.session.setCookieAndRedirect(landing.href);
    }
  },
  (error) => {
    console.error('widget error', error);
    document.body.dataset.widgetError = String(error && (error.message || error.name));
  },
);

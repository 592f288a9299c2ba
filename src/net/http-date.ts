// The HTTP Date header's value (RFC 9110 IMF-fixdate, Go's http.TimeFormat), formatted once a second
// rather than once a response, as Node's own server does for the headers it adds.
let second = -1;
let text = '';

export function httpDate(now = Date.now()): string {
  const s = Math.floor(now / 1000);
  if (s !== second) {
    second = s;
    text = new Date(s * 1000).toUTCString();
  }
  return text;
}

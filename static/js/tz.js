// The viewer's time zone, so pages show times in it: a cookie "tz" holding the IANA name the
// browser reports ("America/New_York"). The server checks the name against its own list
// (florasite.middleware.ViewerTimeZoneMiddleware); without this script, times are in the
// site's default zone and the footer says so. A file, not inline: the CSP allows no other.
(function () {
  "use strict";

  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (error) {
    return;
  }
  if (typeof zone !== "string" || zone.length > 64 || !/^[A-Za-z0-9_+\-]+(\/[A-Za-z0-9_+\-]+)*$/.test(zone)) {
    return;
  }
  var current = null;
  document.cookie.split(";").forEach(function (pair) {
    var parts = pair.trim().split("=");
    if (parts[0] === "tz") {
      current = parts.slice(1).join("=");
    }
  });
  if (current === zone) {
    return;
  }
  // A year, for every page of the site; sent on htmx requests too. Letters, digits, "_",
  // "+", "-" and "/" are all allowed in a cookie value as they are.
  document.cookie =
    "tz=" + zone + "; path=/; max-age=31536000; samesite=lax" +
    (window.location.protocol === "https:" ? "; secure" : "");
})();

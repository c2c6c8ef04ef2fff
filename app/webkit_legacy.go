//go:build desktop && linux && !(webkit2_40 || webkit2_41)

package app

// legacyWebKit reports a build on Wails' legacy WebKitGTK request path:
// requests from the page to wails:// arrive as GET, without their headers
// or body, and only status 200 gets through. The page shows values, but
// logging in and writing fail. Build with -tags webkit2_40 (WebKitGTK 2.40
// or newer, as on Debian 12) to pass requests whole.
const legacyWebKit = true

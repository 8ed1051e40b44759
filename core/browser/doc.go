// Package browser tests the site in a real headless Chromium: the citizen's vote flow with
// the mouse, the keyboard and without JavaScript, proposing, moderating, publishing, the
// auditor's read-only console, tenant branding, and accessibility with axe-core on every
// page. It holds tests only; see browser_test.go for how to run them.
package browser

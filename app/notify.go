package app

import (
	"os"
	"time"

	"github.com/godbus/dbus/v5"
)

// notifyTimeout bounds one desktop notification: it is best effort.
const notifyTimeout = 2 * time.Second

// notifyOn reports whether the profile wants desktop notifications.
func (e *Engine) notifyOn() bool { return e.settings.DesktopNotifications() }

// notify shows a desktop notification through org.freedesktop.Notifications
// on the session bus, in the background; without a session bus it does
// nothing. Title and body are bounded here; the caller (the console)
// passes them already made safe for display, and never a secret.
func notify(title, body string) {
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		return
	}
	title, body = bound(title, 80), bound(body, 300)
	go func() {
		conn, err := dbus.SessionBusPrivate()
		if err != nil {
			return
		}
		defer conn.Close()
		if conn.Auth(nil) != nil || conn.Hello() != nil {
			return
		}
		obj := conn.Object("org.freedesktop.Notifications", "/org/freedesktop/Notifications")
		call := obj.Go("org.freedesktop.Notifications.Notify", 0, make(chan *dbus.Call, 1),
			"qapprove", uint32(0), "", title, body, []string{}, map[string]dbus.Variant{}, int32(10000))
		select {
		case <-call.Done:
		case <-time.After(notifyTimeout):
		}
	}()
}

// bound cuts s to at most n bytes on a rune boundary.
func bound(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

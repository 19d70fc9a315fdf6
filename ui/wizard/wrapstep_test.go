package wizard

import (
	"path/filepath"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/qapprove/qapprove/app"
	"github.com/qapprove/qapprove/storage"
	"github.com/qapprove/qapprove/storage/secrets"
	"github.com/qapprove/qapprove/storage/secrets/secretstest"
	"github.com/qapprove/qapprove/storage/wrap"
	"github.com/qapprove/qapprove/storage/wrap/wraptest"
)

// TestWizardWrapStep: the protection screen after the passphrase refuses
// an incomplete HSM choice, then stores the key under an AWS KMS wrap
// (local-kms); the wrap itself runs in the store command, not in Update.
func TestWizardWrapStep(t *testing.T) {
	kms := wraptest.StartKMS(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDLOCALKMSTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local-kms-test-secret")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	arn := kms.CreateKey(t)

	e := newTestEnv(t, 1)
	w := New(e.ctx, Options{Registrar: &app.Registration{Paths: e.paths, Profile: "default", Backend: e.be, KDF: secretstest.KDF()},
		Profile: "default", Where: "file keystore", Timeout: 20 * time.Second, OfferWrap: true,
		Defaults: storage.Profile{Wrap: storage.Wrap{KMSEndpoint: kms.Endpoint, KMSRegion: wraptest.Region}}})
	w.SetSize(100, 30)
	t.Cleanup(w.Close)
	f := &fixture{t: t, w: w, sb: e.sb, url: e.url, ws: e.ws, kid: e.kid, sec: e.sec, paths: e.paths, be: e.be}
	f.profile(f.sec)
	f.enter()
	f.typ(goodPass)
	f.enter()
	f.typ(goodPass)
	f.enter()
	f.mustShow("step 3 of 6: Passphrase — protection")
	f.mustShow("(•) passphrase only")

	// HSM without its fields: refused before anything runs.
	f.send(tea.KeyPressMsg{Code: tea.KeyLeft})
	f.mustShow("(•) HSM (PKCS#11)")
	f.enter()
	f.mustShow("type the PKCS#11 library path")
	if _, err := f.be.Get("default"); err == nil {
		t.Fatal("something was stored with an incomplete choice")
	}

	// AWS KMS: the endpoint is prefilled; type the key ARN.
	f.send(tea.KeyPressMsg{Code: tea.KeyRight}, tea.KeyPressMsg{Code: tea.KeyRight})
	f.mustShow("(•) AWS KMS")
	f.send(tea.KeyPressMsg{Code: tea.KeyTab})
	f.typ(arn)
	f.enter()
	f.mustShow("read back")
	f.mustShow("Wrap:   AWS KMS")
	b, err := secrets.LoadBundle(f.be, "default")
	if err != nil || b.WrapKind() != wrap.KindKMS || b.Wrap.KeyARN != arn {
		t.Fatalf("stored bundle: %v", err)
	}
	if s := w.Settings(); s.WrapKind != "kms" || s.KMSKey != arn || s.KMSEndpoint != kms.Endpoint {
		t.Fatalf("settings to save: %+v", s.Wrap)
	}
	f.enter()
	f.mustShow("step 6 of 6: Backup")
}

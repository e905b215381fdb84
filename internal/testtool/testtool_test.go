package testtool

import (
	"testing"
)

func TestCI(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want bool
	}{
		{"", false}, {"false", false}, {"0", false}, {"true", true}, {"1", true}, {"yes", true},
	} {
		t.Run("CI="+tc.env, func(t *testing.T) {
			t.Setenv("CI", tc.env)
			if got := CI(); got != tc.want {
				t.Fatalf("CI() = %v, want %v", got, tc.want)
			}
		})
	}
}

// recorder is a testing.TB that records how Missing ended the test
// instead of ending the real one.
type recorder struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (r *recorder) Helper() {}
func (r *recorder) Skip(args ...any) {
	r.skipped = true
	r.msg = args[0].(string)
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = true
	r.msg = format
}

func TestMissing(t *testing.T) {
	t.Run("developer machine skips", func(t *testing.T) {
		t.Setenv("CI", "")
		r := &recorder{TB: t}
		LookPath(r, "apt-get install nothing", "rewind-no-such-tool")
		if !r.skipped || r.failed {
			t.Fatalf("skipped=%v failed=%v, want a skip", r.skipped, r.failed)
		}
	})
	t.Run("CI fails", func(t *testing.T) {
		t.Setenv("CI", "true")
		r := &recorder{TB: t}
		Exists(r, "/rewind/no/such/file", "nothing")
		if !r.failed || r.skipped {
			t.Fatalf("skipped=%v failed=%v, want a failure", r.skipped, r.failed)
		}
	})
	t.Run("present tool", func(t *testing.T) {
		t.Setenv("CI", "true")
		r := &recorder{TB: t}
		if p := LookPath(r, "-", "rewind-no-such-tool", "sh"); p == "" || r.failed || r.skipped {
			t.Fatalf("LookPath(sh) = %q, failed=%v skipped=%v", p, r.failed, r.skipped)
		}
	})
}

package testtool

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The helper is run in a child test binary, with and without CI, against a
// program that cannot exist, and the child's verdict is read back.
const envChild = "SIPWIRE_TESTTOOL_CHILD"

func TestMissingProgramChild(t *testing.T) {
	if os.Getenv(envChild) == "" {
		t.Skip("run by TestMissingProgramSkipsOrFails")
	}
	Program(t, "sipwire-no-such-program", "no-such-package")
	t.Fatal("Program returned for a missing program")
}

func TestMissingProgramSkipsOrFails(t *testing.T) {
	for _, c := range []struct {
		ci       string
		wantFail bool
		want     string
	}{
		{"", false, "--- SKIP: TestMissingProgramChild"},
		{"false", false, "--- SKIP: TestMissingProgramChild"},
		{"true", true, "--- FAIL: TestMissingProgramChild"},
		{"1", true, "--- FAIL: TestMissingProgramChild"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMissingProgramChild$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), envChild+"=1", EnvCI+"="+c.ci)
		out, err := cmd.CombinedOutput()
		if (err != nil) != c.wantFail || !strings.Contains(string(out), c.want) ||
			!strings.Contains(string(out), "program sipwire-no-such-program is missing") ||
			!strings.Contains(string(out), "apt-get install no-such-package") {
			t.Errorf("CI=%q: err %v, want failure %v and %q with the install hint; output:\n%s", c.ci, err, c.wantFail, c.want, out)
		}
	}
}

func TestProgramFound(t *testing.T) {
	if p := Program(t, "sh", "dash"); p == "" {
		t.Fatal("sh not found")
	}
}

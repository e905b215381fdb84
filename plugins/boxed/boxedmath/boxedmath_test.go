package boxedmath

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/sdk/abi"
)

func TestExtract(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"simple", `so \boxed{42}.`, "42", true},
		{"last wins", `\boxed{1} then \boxed{2}`, "2", true},
		{"nested braces", `\boxed{\frac{1}{2}}`, `\frac{1}{2}`, true},
		{"truncated last falls back", `\boxed{3} and \boxed{\frac{1}{`, "3", true},
		{"space before brace", `\boxed {7}`, "7", true},
		{"escaped brace", `\boxed{\{1\}}`, `\{1\}`, true},
		{"none", `the answer is 4`, "", false},
		{"no brace", `\boxed 4`, "", false},
		{"empty", `\boxed{}`, "", true},
		{"unicode", `résultat \boxed{π}`, "π", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Extract(tt.in)
			require.Equal(t, tt.ok, ok)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{" 42 ", "42"},
		{"$42$", "42"},
		{"$$-3$$", "-3"},
		{`\(5\)`, "5"},
		{`\text{yes}`, "yes"},
		{`\mathrm{\text{7}}`, "7"},
		{"1{,}000", "1,000"},
		{`1\,000`, "1000"},
		{`\dfrac{1}{2}`, `\frac{1}{2}`},
		{`\left( 1, 2 \right)`, "( 1, 2 )"},
		{"\u22125", "-5"},
		{"5.", "5"},
		{"12.", "12"},
		{`\$12`, "12"},
		{"$ 3.50", "3.50"},
		{"5 cm", "5"},
		{`12\text{ m}^2`, "12"},
		{`50\%`, "50"},
		{"7 apples.", "7"},
		{`\frac{1}{2} cup`, `\frac{1}{2}`},
		{"5x", "5x"},
		{`2\sqrt{3}`, `2\sqrt{3}`},
		{"x = 2", "x = 2"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			require.Equal(t, tt.want, Normalize(tt.in))
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		in, want string // want is big.Rat's RatString, "" for not a number
	}{
		{"42", "42"}, {"-0.5", "-1/2"}, {"+3", "3"}, {".5", "1/2"}, {"5.", "5"},
		{"1,234,567.8", "12345678/10"}, {"1,23", ""}, {"1234,567", ""}, {",123", ""},
		{"3/4", "3/4"}, {"-6/8", "-3/4"}, {"1/0", ""},
		{`\frac{3}{4}`, "3/4"}, {`-\frac{1}{2}`, "-1/2"}, {`\frac{-1}{2}`, "-1/2"}, {`\frac34`, "3/4"},
		{`\frac{1}{0}`, ""}, {`\frac{x}{2}`, ""}, {`\frac{1}{2}3`, ""},
		{"", ""}, {"-", ""}, {".", ""}, {"1e5", ""}, {"0x10", ""}, {"1.2.3", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, ok := Parse(tt.in)
			if tt.want == "" {
				require.False(t, ok, "parsed as %v", r)
				return
			}
			require.True(t, ok)
			want, _ := Parse(tt.want)
			if want == nil {
				want, _ = r.SetString(tt.want)
			}
			require.Equal(t, want.RatString(), r.RatString())
		})
	}
}

func TestEqual(t *testing.T) {
	tests := []struct {
		got, want string
		eq        bool
	}{
		{"0.5", `\frac{1}{2}`, true},
		{`\dfrac{1}{2}`, "1/2", true},
		{"1,000", "1000", true},
		{"1000.0", "1000", true},
		{"-2", "−2", true},
		{"$5$", "5", true},
		{"5 dollars", "5", true},
		{"0.333", "1/3", false},
		{"2", "3", false},
		{"x = 2", "x=2", true},
		{`\frac{\pi}{2}`, `\dfrac{\pi}{2}`, true},
		{"A", "a", false},
		{"", "0", false},
	}
	for _, tt := range tests {
		t.Run(tt.got+"~"+tt.want, func(t *testing.T) {
			require.Equal(t, tt.eq, Equal(tt.got, tt.want))
		})
	}
}

func TestGrade(t *testing.T) {
	tests := []struct {
		name, response, answer string
		score                  float64
		status                 abi.Status
	}{
		{"right string truth", `\boxed{1,000}.`, `"1000"`, 1, abi.StatusOK},
		{"right number truth", `\boxed{0.5}`, `0.5`, 1, abi.StatusOK},
		{"wrong", `\boxed{3}`, `"4"`, 0, abi.StatusOK},
		{"no boxed", `it is 4`, `"4"`, 0, abi.StatusOK},
		{"missing truth", `\boxed{4}`, ``, 0, abi.StatusInvalid},
		{"null truth", `\boxed{4}`, `null`, 0, abi.StatusInvalid},
		{"object truth", `\boxed{4}`, `{"a":1}`, 0, abi.StatusInvalid},
		{"empty truth", `\boxed{4}`, `""`, 0, abi.StatusInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Grade(tt.response, json.RawMessage(tt.answer))
			require.Equal(t, tt.status, v.Status)
			require.Equal(t, tt.score, v.Score)
		})
	}
}

func TestHostileInputsStayFast(t *testing.T) {
	long := `\boxed{` + strings.Repeat("1,", 20000) + "1}"
	v := Grade(long, json.RawMessage(`"1"`))
	require.Equal(t, 0.0, v.Score)
	v = Grade(strings.Repeat(`\boxed{`, 5000), json.RawMessage(`"1"`))
	require.Equal(t, abi.StatusOK, v.Status)
}

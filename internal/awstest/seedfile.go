package awstest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Load reads a seed file: one directive a line, blank lines and "#" comments ignored.
//
//	ssm NAME VALUE          String parameter; VALUE is the rest of the line, verbatim
//	ssm-secure NAME VALUE   SecureString parameter
//	sm ID SECRETSTRING      secret; SECRETSTRING is the rest of the line (usually JSON)
//	label NAME VERSION LABEL...
//	fault ACTION KIND [COUNT] [DELAY]   as ParseFault
//	latency DURATION        as SetLatency
//	rate RPS [BURST]        as SetRateLimit (BURST defaults to 1)
//
// Values cannot hold newlines; seed those from Go. Errors name the line.
func (s *Server) Load(ctx context.Context, r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if err := s.loadLine(ctx, sc.Text()); err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
	}
	return sc.Err()
}

func (s *Server) loadLine(ctx context.Context, line string) error {
	trimmed := strings.TrimSpace(line)
	if trimmed == "" || strings.HasPrefix(trimmed, "#") {
		return nil
	}
	verb, rest, _ := strings.Cut(strings.TrimLeft(line, " \t"), " ")
	// nameValue splits "NAME VALUE" keeping VALUE verbatim after the single separating space.
	nameValue := func() (string, string, error) {
		name, value, ok := strings.Cut(rest, " ")
		if !ok || name == "" {
			return "", "", fmt.Errorf("%s: want %s NAME VALUE", verb, verb)
		}
		return name, value, nil
	}
	fields := strings.Fields(rest)
	switch verb {
	case "ssm", "ssm-secure":
		name, value, err := nameValue()
		if err != nil {
			return err
		}
		return s.PutParameter(ctx, name, value, verb == "ssm-secure")
	case "sm":
		id, value, err := nameValue()
		if err != nil {
			return err
		}
		_, err = s.CreateSecret(ctx, id, value)
		return err
	case "label":
		if len(fields) < 3 {
			return errors.New("label: want label NAME VERSION and one or more labels")
		}
		v, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			return fmt.Errorf("label: version %q is not a number", fields[1])
		}
		return s.LabelParameterVersion(fields[0], v, fields[2:]...)
	case "fault":
		return s.AddFaultText(trimmed)
	case "latency":
		if len(fields) != 1 {
			return fmt.Errorf("latency: want latency DURATION")
		}
		d, err := time.ParseDuration(fields[0])
		if err != nil {
			return fmt.Errorf("latency: %w", err)
		}
		s.SetLatency(d)
	case "rate":
		if len(fields) < 1 || len(fields) > 2 {
			return fmt.Errorf("rate: want rate RPS [BURST]")
		}
		rps, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return fmt.Errorf("rate: %q is not a number", fields[0])
		}
		burst := 1
		if len(fields) == 2 {
			if burst, err = strconv.Atoi(fields[1]); err != nil {
				return fmt.Errorf("rate: burst %q is not a number", fields[1])
			}
		}
		s.SetRateLimit(rps, burst)
	default:
		return fmt.Errorf("unknown directive %q", verb)
	}
	return nil
}

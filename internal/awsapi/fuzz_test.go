package awsapi

import (
	"errors"
	"net/http"
	"testing"

	"github.com/aws/smithy-go"
)

// FuzzErrorAnswer feeds arbitrary error answers (status, X-Amzn-ErrorType, body) to the
// decoder: it must not panic, must always give an APIError with a non-empty code and the
// status, and a body that is not AWS's JSON must not reach the message.
func FuzzErrorAnswer(f *testing.F) {
	f.Add(400, "", []byte(`{"__type":"com.amazonaws.ssm#ParameterNotFound","message":"m"}`))
	f.Add(400, "ThrottlingException:http://internal.amazon.com/", []byte(`{"Message":"Rate exceeded"}`))
	f.Add(503, "", []byte(`<html>oops</html>`))
	f.Add(599, "#", []byte(``))
	f.Add(400, "", []byte(`{"code":"a:b#c","message":7}`))
	c := newClient(Config{}, ssmService)
	f.Fuzz(func(t *testing.T, status int, errType string, body []byte) {
		if status < 300 || status > 599 {
			return
		}
		resp := &http.Response{StatusCode: status, Header: http.Header{}}
		resp.Header.Set("X-Amzn-ErrorType", errType)
		err := c.errorAnswer("GetParameters", resp, body, 0)
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() == "" {
			t.Fatalf("no code in %v", err)
		}
		var st interface{ HTTPStatusCode() int }
		if !errors.As(err, &st) || st.HTTPStatusCode() != status {
			t.Fatalf("status lost in %v", err)
		}
	})
}

// Package awstest is the project's AWS test harness: the kumo emulator in-process, behind a
// proxy that adds AWS behaviour kumo lacks and injects faults (throttling, 5xx, resets, slow or
// hanging answers, garbled bodies, access and KMS denials), and counts every call.
//
// # Layout
//
// [Start] (or [New] in a test) runs kumo on 127.0.0.1 and a proxy in front of it, also on
// 127.0.0.1. Clients under test talk to [Server.URL] (the proxy; put it in AWS_ENDPOINT_URL).
// The seeding helpers ([Server.PutParameter], [Server.CreateSecret], ...) talk to kumo
// directly with an isolated SDK config (the static test credentials, us-east-1, no shared
// config files), so seeding is never counted and never meets a fault.
//
// kumo keeps its state in package-level singletons: every kumo server of one process shares
// the same parameters and secrets. So that tests cannot see each other's data, only one
// Server runs per process at a time: Start waits until the previous Server is closed, then
// deletes every parameter and secret left behind.
//
// # AWS behaviour filled in front of the emulator
//
// These are always on; kumo (v0.33.1) does not have them, real AWS does:
//
//   - Signature Version 4, checked on every request before anything else, and answered as
//     SSM and Secrets Manager answer (HTTP 400, JSON 1.1 error): no Authorization header is
//     MissingAuthenticationTokenException; a malformed one IncompleteSignatureException; an
//     access key other than [AccessKeyID] (or a session token other than none and
//     [SessionToken]) UnrecognizedClientException; and InvalidSignatureException for a
//     signature that does not match the canonical request (method, path, query, the headers
//     named in SignedHeaders, the body's SHA-256), an X-Amz-Date more than 5 minutes from the
//     server's clock ([WithClock]), a credential scope whose service is not the target's
//     (ssm, secretsmanager), whose region is not a region name or whose date is not
//     X-Amz-Date's, and host, X-Amz-Date or X-Amz-Security-Token not signed. Headers that are
//     not signed are ignored, as AWS does. Every answer carries the server's time in Date, from
//     which clients correct clock skew.
//   - Request limits, answered with ValidationException (HTTP 400) in AWS's wording:
//     GetParametersByPath MaxResults 1..10, GetParameters 1..10 Names, DescribeParameters
//     MaxResults 1..50.
//   - SSM selectors and ARNs in GetParameters: "NAME:VERSION", "NAME:LABEL"
//     and "arn:aws:ssm:REGION:ACCOUNT:parameter/NAME" (a resource with a "/" maps to "/NAME",
//     as AWS writes hierarchical ARNs without the leading slash). kumo keeps only the latest
//     value of a parameter, so older versions are answered from the history of values seeded
//     through [Server.PutParameter], and labels exist only through
//     [Server.LabelParameterVersion]. As AWS does, the answer's Name is the name as asked
//     (an ARN stays an ARN) without the selector, and Selector holds ":1" or ":label".
//     Unknown names, versions and labels go to InvalidParameters. GetParameters answers in
//     alphabetical order of Name, as the API reference says.
//   - DescribeParameters with the ParameterFilters key "Path" (options OneLevel and
//     Recursive), which kumo ignores: answered from kumo's own listing, full pages, or short
//     and empty ones with a NextToken as AWS may give ([Server.SetDescribePaging]).
//   - GetSecretValue with VersionStage AWSPREVIOUS: kumo moves AWSCURRENT to AWSPREVIOUS
//     without taking AWSPREVIOUS off the older versions, so it may answer with any of them.
//     The proxy answers with the version that was AWSCURRENT before the last
//     [Server.PutSecretValue], the one AWS keeps AWSPREVIOUS on.
//   - Secrets Manager's ResourceNotFoundException comes back with HTTP 400 (kumo says 404).
//   - STS AssumeRole (sts.go), answered by the proxy itself: kumo's STS (v0.33.1) checks only
//     that RoleArn and RoleSessionName are there. The proxy checks the role ([Server.AddRole])
//     and the external id its trust policy asks for (AccessDenied, HTTP 403), the session
//     name and duration rules (ValidationError), and hands out keys the SigV4 check then
//     accepts until they expire (ExpiredTokenException after).
//
// # Faults
//
// [Server.AddFault] adds a [Fault]; [ParseFault] reads the same from one line of text, for
// testscript:
//
//	[fault] ACTION KIND [COUNT] [DELAY]
//
// ACTION is an API action ("GetParametersByPath", "GetSecretValue") or "*"; KIND is one of
// throttle, 500, 503, reset, slow, hang, garbled, denied, kms, decrypt; COUNT is how many
// matching calls it answers (0 or absent: all of them); DELAY is a Go duration (slow only).
// Examples: "fault GetParametersByPath throttle 3", "fault * slow 200ms", "GetSecretValue kms".
//
// [Server.SetRateLimit] adds a token bucket in front of every action (ThrottlingException
// "Rate exceeded" when empty) and [Server.SetLatency] a fixed delay per request, to stand in
// for in-region round trips in benchmarks.
//
// Every request that reaches the proxy is counted and logged ([Server.Calls],
// [Server.TotalCalls], [Server.Requests]), including the ones a fault answered or the
// signature check refused. The log records the region each request was signed for: kumo
// ignores regions, so a test of cross-region reads asserts the signing region instead; and
// the access key id that signed it, so a test of --role-arn asserts the assumed role's keys
// signed the reads ([Server.Assumed]).
package awstest

package ref

import "strings"

// CheckRoleARN checks that s is an IAM role's ARN, arn:PARTITION:iam::ACCOUNT:role/NAME
// (NAME may follow a path, role/team/NAME), as AssumeRole takes it (--role-arn): no region,
// a 12-digit account, and IAM's rules for role names (1 to 64 of letters, digits and
// +=,.@_-) and paths (/-separated segments of printable ASCII, at most 512 characters).
func CheckRoleARN(s string) error {
	a, ok := splitARN(s)
	if !ok || a.service != "iam" || !strings.HasPrefix(a.resource, "role/") {
		return malformed("not an iam role arn (arn:aws:iam::ACCOUNT:role/NAME)")
	}
	if a.region != "" {
		return malformed("an iam arn has no region: arn:aws:iam::ACCOUNT:role/NAME")
	}
	if err := a.checkPartition(); err != nil {
		return err
	}
	if err := a.checkAccount(); err != nil {
		return err
	}
	rest := strings.TrimPrefix(a.resource, "role/")
	path, name := "", rest
	if i := strings.LastIndexByte(rest, '/'); i >= 0 {
		path, name = rest[:i+1], rest[i+1:]
	}
	if len(name) < 1 || len(name) > 64 || !allIAMName(name) {
		return malformed("a role name has 1 to 64 letters, digits and +=,.@_-")
	}
	if len(path) > 511 {
		return malformed("a role path has at most 512 characters")
	}
	for i := 0; i < len(path); i++ {
		if path[i] < '!' || path[i] > '~' {
			return malformed("a role path is printable ASCII without spaces")
		}
	}
	if strings.Contains(path, "//") {
		return malformed("a role path has no empty segment")
	}
	return nil
}

// allIAMName reports whether s is made of IAM's name characters, [\w+=,.@-].
func allIAMName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && !strings.ContainsRune("_+=,.@-", rune(c)) {
			return false
		}
	}
	return true
}

package schema

// Members validates b exactly as Validate does and, for a top-level object,
// calls fn with each member's raw key (the bytes between the quotes, escapes
// not decoded) and raw value (its JSON text: strings keep their quotes). It
// is one pass over the record: profiles extract the envelope from the same
// scan that validates it. A top-level value that is not an object is
// validated, and fn is not called; the return is then ErrNotObject if valid.
// An error returned by fn stops the scan and is returned.
func Members(b []byte, fn func(key, value []byte) error) error {
	_, err := members(b, "", nil, fn, false)
	return err
}

// MembersWith is Members, except that the value of each member named key
// (raw key) is validated by value instead: value(b, i) must validate the
// JSON value starting at b[i] exactly as the validator does for a value
// nesting at most MaxDepth-1 levels, and return its end — Type.ObserveStrictAt
// does, inferring the value's type in the same walk. value may return -1 to
// leave the member to the validator. Errors of value stop the scan; their
// text may differ from the validator's, so callers that report them
// validate again with Members.
func MembersWith(b []byte, key string, value func(b []byte, i int) (int, error), fn func(key, value []byte) error) error {
	_, err := members(b, key, value, fn, false)
	return err
}

// MembersPrefix is MembersWith for an object at the start of b that b may
// continue past (a whole object of concatenated JSON values, say): b[0] must
// be '{'. It returns where the object ends (the index after its '}'); what
// follows is not looked at. On an error the end is unknown, and a caller
// that reports the error finds the record's extent by other means first.
func MembersPrefix(b []byte, key string, value func(b []byte, i int) (int, error), fn func(key, value []byte) error) (int, error) {
	if len(b) == 0 || b[0] != '{' {
		return 0, synErr(0, "a prefix object must start with '{'")
	}
	return members(b, key, value, fn, true)
}

func members(b []byte, special string, value func(b []byte, i int) (int, error), fn func(key, value []byte) error, prefix bool) (int, error) {
	n := len(b)
	i := 0
	if n > 0 && isWS[b[0]] {
		i = skipWS(b, 0)
	}
	if i >= n {
		return 0, Validate(b)
	}
	if b[i] != '{' {
		if err := Validate(b); err != nil {
			return 0, err
		}
		return 0, ErrNotObject
	}
	i = skipWS(b, i+1)
	if i < n && b[i] == '}' {
		i++
	} else {
		for {
			// The key: its plain run inline, anything else (escapes,
			// non-ASCII, errors) by the full scan.
			if i >= n || b[i] != '"' {
				_, err := validKey(b, i)
				return 0, err
			}
			kStart := i + 1
			kEnd := skipPlain(b, kStart)
			if kEnd >= n || b[kEnd] != '"' {
				end, _, err := scanStringFrom(b, i, kEnd)
				if err != nil {
					return 0, err
				}
				kEnd = end - 1
			}
			i = kEnd + 1
			if i < n && b[i] == ':' {
				i++
			} else {
				var err error
				if i, err = colon(b, i); err != nil {
					return 0, err
				}
			}
			if i < n && isWS[b[i]] {
				i = skipWS(b, i)
			}
			vStart := i
			if vStart >= n {
				return 0, synErr(vStart, "unexpected end of input in object, want a value")
			}
			// The record's own object is one level: values may nest one
			// level less for the record to stay within MaxDepth.
			end := -1
			var err error
			if value != nil && string(b[kStart:kEnd]) == special {
				if end, err = value(b, vStart); err != nil {
					return 0, err
				}
			}
			if end < 0 {
				if b[vStart] == '"' {
					if end = skipPlain(b, vStart+1); end < n && b[end] == '"' {
						end++
					} else if end, _, err = scanStringFrom(b, vStart, end); err != nil {
						return 0, err
					}
				} else if end, err = validValueMax(b, vStart, MaxDepth-1); err != nil {
					return 0, err
				}
			}
			if err := fn(b[kStart:kEnd], b[vStart:end]); err != nil {
				return 0, err
			}
			i = end
			if i < n && isWS[b[i]] {
				i = skipWS(b, i)
			}
			if i >= n {
				return 0, synErr(i, "unexpected end of input in object, want ',' or '}'")
			}
			if b[i] == '}' {
				i++
				break
			}
			if b[i] != ',' {
				return 0, synErr(i, "unexpected %s in object, want ',' or '}'", describe(b[i]))
			}
			i = skipWS(b, i+1)
		}
	}
	if prefix {
		return i, nil
	}
	if i < n && isWS[b[i]] {
		i = skipWS(b, i)
	}
	if i < n {
		return 0, synErr(i, "unexpected %s after top-level value", describe(b[i]))
	}
	return i, nil
}

// ErrNotObject is returned by Members for valid JSON that is not an object.
var ErrNotObject = errNotObject{}

type errNotObject struct{}

func (errNotObject) Error() string { return "record is not a JSON object" }

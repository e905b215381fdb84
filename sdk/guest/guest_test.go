package guest

// reset clears the registration so tests can register again.
func reset() {
	kind, info = "", Info{}
	verifyFn, scoreFn, segmentFn, localizeFn, initFn = nil, nil, nil, nil, nil
}

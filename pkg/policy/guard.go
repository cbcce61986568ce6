package policy

// Guard is one step a decision passes through after its policies, with
// what the change log, a Scaler's status and the docs read of it. Guards
// lists them all; nothing else keeps a list of guard names.
type Guard struct {
	// Name is the guard as scaling.Adjustment.Guard names it.
	Name string
	// Order is where the guard applies: a lower one applies first, and
	// guards of one order are one step (a bound is the bounds' or an open
	// schedule's).
	Order int
	// Limiting guards hold a decision back at a limit someone set (a
	// bound, a schedule, a rate limit, the target's own): a Scaler's
	// Limited condition names the last of them that held.
	Limiting bool
	// Routine guards hold a scale-down for a while as a matter of course:
	// under a falling load they start and stop holding tick after tick,
	// and the change they delay names them in its reason, so their
	// transitions are logged at debug, the others' at info.
	Routine bool
	// Condition is the reason of the Limited condition a limiting guard
	// sets when it holds.
	Condition string
}

// Guards are every guard, in the order they apply.
var Guards = []Guard{
	{Name: GuardFailure, Order: 1},
	{Name: GuardStabilization, Order: 2, Routine: true},
	{Name: GuardStartup, Order: 3, Routine: true},
	{Name: GuardRateLimit, Order: 4, Limiting: true, Condition: "RateLimit"},
	{Name: GuardBounds, Order: 5, Limiting: true, Condition: "Bounds"},
	{Name: GuardSchedule, Order: 5, Limiting: true, Condition: "Schedule"},
	{Name: GuardPaused, Order: 6},
	{Name: GuardTargetLimit, Order: 7, Limiting: true, Condition: "TargetLimit"},
}

// GuardNamed is the guard of that name; ok is false for a name no guard has.
func GuardNamed(name string) (g Guard, ok bool) {
	for _, g := range Guards {
		if g.Name == name {
			return g, true
		}
	}
	return Guard{}, false
}

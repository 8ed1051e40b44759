// Package results turns vote counts into scores, uncertainty and zones: consensus, controversy, rejection.
//
// The package is pure computation: no database, no HTTP, no clock, and randomness only from
// fixed seeds. Every rule
// below is public by product requirement, and every number it uses is in Config
// (DefaultConfig holds the published values), so that anyone with the raw anonymised votes
// can recompute published results and get the same figures. The rules follow Make.org's
// published method.
//
// # Votes and their weight
//
// A vote has a key, agree, disagree or neutral, and may carry qualifications of that key:
// likeIt, doable, platitudeAgree for agree; noWay, impossible, platitudeDisagree for
// disagree; doNotUnderstand, noOpinion, doNotCare for neutral.
//
// Every proposal shown carries a key signed by the server (see core/vote's package comment
// for the rules that keep keys from being harvested). How a vote arrived sets its weight:
//
//   - Sequence (a valid key, shown by the sequence): weight 1. The server chose what each
//     participant saw, so sequence votes approximate a random sample of opinions on each
//     proposal; they alone make scores, intervals and zones, and the sequence's own choices
//     (new proposals, Thompson draws, fewest votes first) read them alone.
//   - Trusted (a valid key, shown by search, a direct link or the results page, or a
//     sequence card of a participant who had not earned full weight, or picked past cards they
//     skipped: core/vote's "ignored" origin): weight 0. These votes are self-selected, and sharing a link is how an
//     interest group pushes one proposal: they are published beside the scores
//     (Scores.Beside: their count and smoothed key rates; and BesideByOrigin: the same for
//     each origin, direct, search, results and ignored, in the API's beside_by_origin, the
//     CSV's beside_<origin>_* columns and the results page; read from the raw votes in
//     the background with the opinion groups, since the vote path keeps no count per
//     origin) and never move a score or a zone. Make.org counts them half; a bloc of 5 % voting through links then carried
//     proposals into and out of the top ten.
//   - Troll (no key, or one that does not verify): weight 0. Troll votes are counted apart,
//     published in the raw counts, and left out of every score.
//
// Below, n is the weighted total of a proposal's votes and x the weighted number of votes
// with a given key or qualification: sequence votes weigh 1, but those of sessions counted
// as one participant (next section).
//
// # Sessions that vote alike
//
// Coalesce counts sessions from one network source that vote alike as one participant,
// after Community Notes' post-selection similarity (which keeps one rating per note from a
// clique of raters who select the same notes far more often than chance). Here the sequence
// chooses what each session sees, so what gives away one person or script behind many
// sessions is the same source and the same votes. Two sessions are linked when their
// sequence votes came mostly from the same source (a keyed hash of the address, per
// consultation: see core/vote rule 9), they voted on at least CoalesceConfig.MinCommon (5)
// proposals in common, and the Jaccard similarity of their (proposal, vote) pairs is at
// least MinJaccard (0.9). Linked sessions are gathered transitively (union–find, as
// Community Notes' cliques); on each proposal the j sessions of a group that voted on it
// weigh 1/j each, so the group is one vote there, the average of theirs (an average rather
// than Community Notes' first rating, which would depend on arrival order). n and the
// intervals' sample size lose the same (1 − 1/j per vote: the group's votes are one
// observation). The raw counts stay whole. People behind one address who vote their own
// way are shown different proposals by the sequence and vote differently where they
// overlap: they are not linked (TestCoalesce_DistinctPeopleBehindOneAddressAreNotMerged).
// Coalescing is computed from the raw sequence votes with the opinion groups (in the
// background, in their digest), so the ranking takes it in once they are computed, and
// `concorde results recompute`, the verify endpoint and the frozen snapshot include it;
// for 1,000,000 votes of 100,000 sessions it takes about a second more
// (BenchmarkCoalesce_MillionVotes). Sources are compared whole, except that an
// erased session keeps only its source's first SourceBucketChars characters (18 bits; core/vote
// rule 9) and is compared with the sessions of its bucket, so erased sessions stay coalesced
// with their clones.
// Weighted results and segments apply it too (Coalesced.ApplyToCells): each profile cell's
// votes lose the mass of its coalesced sessions, and the raking sample counts each group
// once, in the cell holding most of its sessions. Pages show what the rates were read from
// (Scores.Counted), the export gives it beside the raw counts (counted_* columns), and Votes
// keeps the raw counts whole.
//
// # Rates and intervals
//
// Each key and each qualification gets a smoothed rate, which keeps a proposal with two
// votes from showing 100 %:
//
//	rate = (x + 0.33) / (n + 1)
//
// and a 95 % interval of Agresti–Coull type (z = 1.96), centred on p̃ and clamped to [0, 1]:
//
//	ñ = n + z²    p̃ = (x + z²/2) / ñ    half-width = z·√(p̃(1−p̃)/ñ)
//
// Qualification rates are out of all n votes, not only the votes of their key.
//
// # Scores
//
// From the smoothed rates:
//
//	top         = agree + likeIt + doable − noWay − impossible − platitudeAgree − platitudeDisagree
//	rejection   = disagree + noWay + impossible − agree − likeIt − doable
//	controversy = min(agree, disagree) + min(likeIt, noWay)
//	engagement  = 1 − neutral
//	adhesion    = (agree votes + 0.33) / (agree votes + disagree votes + 1)
//
// The intervals of top and rejection come from the votes taken whole: each score is the
// mean, over votes, of what one vote adds (for top: 1 for agree, +1 for likeIt and doable,
// −1 for noWay, impossible and each platitude), so its variance is Var(y)/n, with Var(y)
// from the joint distribution of a vote's key and qualifications, not from the rates taken
// one by one (every likeIt is also an agree, and who likes a proposal often finds it
// doable: adding the variances of the rates as if independent held the true value about
// 75 % of the time for a nominal 95 %). The counters keep how often each qualification was
// given but not how often two qualifications of one key were given together, so for that
// co-occurrence the interval takes the value within its bounds, max(0, q+q′−key) …
// min(q, q′), that makes the variance largest. The rates used are the smoothed ones, and
// the intervals are not clamped. A Monte Carlo test with a fixed seed
// (TestScore_TopAndRejectionIntervalsCoverAtNominalRate) draws samples from populations
// with correlated qualifications: these intervals hold the true value about 95 % of the
// time (at least 93 % is required), the old ones about 74 %.
//
// # Zones
//
// A zone is first read from the smoothed rates, as Make.org does, tried in this order:
//
//  1. not enough votes: n < 10;
//  2. limbo: neutral ≥ 40 % (participants do not take sides);
//  3. consensus: agree ≥ 60 %, or disagree < 15 % and neutral < 25 % and agree > disagree;
//  4. rejection: disagree ≥ 60 %, or agree < 15 % and neutral < 25 % and disagree > agree;
//  5. controversy: everything else.
//
// The thresholds and the smoothing (0.33 and 1) are Make.org's. Where this package differs
// is that it publishes a zone only when the 95 % intervals of the key rates clear the
// thresholds its rule compares them with: limbo needs the low end of neutral at 40 % or
// more; consensus the low end of agree at 60 %, or the high ends of disagree and neutral
// under 15 % and 25 % with agree's low end above disagree's high end (rejection likewise);
// controversy needs every other zone to be ruled out by the intervals. Otherwise the
// proposal is "undetermined" and Scores.Leaning names the zone its rates point to. The
// reason: with 20 votes, 15 agree reads as a consensus although a proposal that 55 % of
// the population agrees with gives 15 or more of 20 one time in eighteen; over hundreds of proposals,
// zones read from rates alone publish dozens of such accidents, and an organised group
// needs only to nudge a few rates across a threshold.
//
// Rank sorts consensus by top score, controversy by controversy score and rejection by
// rejection score, highest first, ties by proposal id; limbo, undetermined and not enough
// votes by proposal id.
//
// # Demographic segments and raking
//
// Participants may give an age band, a gender and an area. Results per segment
// (SegmentCounts) are the scores of the votes of participants with that value.
//
// A segment is published on its own only with at least min_segment_size participants (a
// consultation setting, 10 by default): the smaller ones, "not answered" included, are
// merged into one (PublicSegments), and when even together they are fewer, the smallest
// segment that could stand alone joins them, since the whole minus the published
// segments would otherwise give them away. Auditors see every segment.
//
// Results for the whole population correct for who took part by raking (iterative
// proportional fitting, Rake): every combination of profile values (a Cell) gets a weight
// so that, in each dimension, the weighted shares of participants match the population's
// (Margins). A participant who did not give a value in a dimension is left out of that
// dimension's shares, and that dimension's step leaves their weight unchanged (1, unless
// another dimension's step moved it); so not answering neither helps nor hurts. A value
// the margins do not name (an "other" answer, a typo in the reference) is treated the same
// way, as not given, rather than making the weighting fail.
//
// Weights are bounded, by default to between 0.2 and 5 times the mean weight
// (DefaultWeightCaps). Without a bound, raking would hand a huge weight to any rare
// profile: an organised group of a few percent of participants who all claim an
// under-represented age band and area would be multiplied by the gap between that
// profile's share among participants and in the population, and could carry a proposal.
// After each raking step the weights are rescaled so that their mean over participants is
// 1, then clamped to the caps, and the two repeat until both hold (a bounded calibration).
// Rescaling after clamping, as this package once did, let a capped cell end at 5 times a
// mean pushed well below 1: a 3 % cell could carry 30 % of the weight. Now a cell of
// share s carries at most s × 5 of the weighted participants: 3 % of participants weigh
// at most 15 % (TestRake_CapHoldsAfterRescaling), and votes they bring through a shared
// link count half on top of that; the rest of the participants, who meet the proposal
// through the sequence, keep the majority of its votes (see
// TestRake_OrganisedFewPercentCannotTurnRejectionIntoConsensus). When a cap holds weights
// back, the margins may be met only approximately, and Rake says so (ErrNotConverged)
// while still returning the bounded weights.
//
// The sample raked is the participants with at least one sequence vote (core/vote, rule 8):
// sessions that voted only through links or with troll keys cannot claim a profile and
// change everyone's weights. The published zones and ranking are not weighted; weighted
// results are a view beside them.
//
// A bloc that takes part through the sequence and all claim a rare profile is most of that
// profile's cell, and raking gives the cell its share of the population: with plain raking,
// a bloc of 5 % claiming a profile of 2 % of participants and 20 % of the population carried
// about 14 % of the weight and pulled its targets out of the weighted top ten (ops/integrity,
// BENCHMARKS.md). So Weigh does not take each cell's votes on a proposal at face value but
// pools them with everyone's (ShrunkWeightedCounts, partial pooling as in multilevel
// regression and poststratification): a cell with m votes on the proposal, x of them with a
// key or qualification, counts as m votes at the rate
//
//	(x + prior·p̄) / (m + prior)
//
// with p̄ that rate over every cell, unweighted, and prior = Config.CellPrior = 100. The
// prior is that of a difference of about 5 points between a profile and everyone on a
// proposal (p(1−p)/τ² = ¼ ÷ 0.05²): a cell with a handful of votes on a proposal says little
// on its own and leans on everyone; it stands on its own votes from a few hundred. Raking
// still corrects large cells (TestShrunkWeightedCounts_LargeCellsKeepTheirRaking); the cost
// is that a real difference shows in the weighted view only where a profile has many votes.
// An estimate of the prior from the data (method of moments over proposals) was tried: too
// noisy at a few votes per cell and proposal, it gave honest cells priors of 18 to 140.
//
// DesignEffect reports Kish's design effect of the weights over participants,
// n·Σw² / (Σw)², published with weighted results: how many participants one effective
// participant is worth once weighted (1: the weights cost nothing).
//
// WeightedCounts applies the weights to one proposal's votes split by cell. Raking moves
// vote mass between cells but keeps n, so it cannot lift a proposal above the minimum
// number of votes; and since uneven weights cost precision, intervals then use Kish's
// effective sample size (Σ w·m)² / Σ w²·m instead of n, where m is a cell's weighted votes.
//
// # Consensus across opinion groups
//
// A proposal most participants agree with may still be rejected by a whole minority: a
// consensus by the zones' rule is not a consensus of the people. Groups checks it the way
// Pol.is and Community Notes do, from sequence votes only (the server chose what each
// participant saw), with every number in GroupsConfig (DefaultGroupsConfig holds the
// published values):
//
//   - Opinion groups, as Pol.is (math/src/polismath/math): a participant × proposal matrix
//     of votes, agree +1, disagree −1, neutral 0; a proposal a participant did not see takes
//     the proposal's mean vote. Only participants with at least 7 sequence votes are placed.
//     Principal component analysis by power iteration gives each participant two
//     coordinates, scaled by √(proposals / the participant's votes) so that those who voted
//     little are not pulled to the centre. k-means gathers participants into 100 base
//     clusters, then the base clusters into k groups, k from 2 to 5, the k with the best
//     silhouette winning. Groups are numbered largest first.
//   - Group-aware consensus, as Pol.is: the product over groups of (agree + 1) / (votes + 2).
//   - Consensus across groups holds when every group has at least 5 votes on the proposal
//     and each group's (agree + 1) / (votes + 2) is at least 60 % (the zones' consensus
//     threshold); it fails when a group with 5 votes or more stays under 60 %; otherwise it
//     is unknown.
//   - Bridging, as Community Notes (ranking-notes, matrix factorisation): each vote is a
//     rating (agree 1, neutral ½, disagree 0) modelled as μ + i_participant + i_proposal +
//     f_participant · f_proposal, with one factor; λ = 0.03 on factors and 5λ on intercepts
//     (averaged over ratings, as in Community Notes' loss), so a proposal's intercept is
//     what participants agree on once the axis that divides them is taken out. It is fitted
//     by alternating least squares, each participant's and each proposal's pair solved
//     exactly in turn for 40 rounds, rather than Community Notes' gradient descent, so that
//     the result does not depend on a learning-rate schedule. A proposal bridges when it
//     has at least 5 such votes, μ + intercept ≥ 60 % and |factor| ≤ 0.5. Community Notes
//     compares the intercept alone with 0.40 because its ratings' mean is low; here the
//     mean agreement varies from one consultation to the next, so the threshold is put on
//     μ + intercept, the agreement of a participant at the centre of the divide.
//
// Every random start (power iteration, k-means++) comes from GroupsConfig.Seed, and votes
// are put in a canonical order first (participants by identifier, proposals by id), so the
// same votes always give the same groups. Opinions.Digest, a SHA-256 of every figure
// rounded to 6 decimals, lets an auditor compare the published groups with those that
// `concorde results recompute` and the verify endpoint compute from the raw votes. For
// 1,000,000 votes of 100,000 participants on 3,000 proposals this takes about 2 s of one
// processor; the server computes it in the background, at most once a minute while votes
// come in, and the results say "pending" until the first computation ends.
package results

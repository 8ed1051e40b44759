// Package results turns vote counts into scores, uncertainty and zones: consensus, controversy, rejection.
//
// The package is pure computation: no database, no HTTP, no clock, no randomness. Every rule
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
// Every proposal shown carries a key signed by the server. How a vote arrived sets its weight:
//
//   - Sequence (a valid key, shown by the sequence): weight 1.
//   - Trusted (a valid key, shown by search or a direct link): weight 0.5, because sharing a
//     link is how an interest group pushes one proposal.
//   - Troll (no key, or one that does not verify): weight 0. Troll votes are counted apart,
//     published in the raw counts, and left out of every score.
//
// Below, n is the weighted total of a proposal's votes and x the weighted number of votes
// with a given key or qualification.
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
// The intervals of top and rejection add up the variances p̃(1−p̃)/ñ of their terms as if
// the terms were independent, and are not clamped. This is an approximation: a qualification
// moves with its key (every likeIt is also an agree), so the true interval differs somewhat.
// It is used to show uncertainty, never to place a proposal in a zone.
//
// # Zones
//
// Tried in this order, on the smoothed rates:
//
//  1. not enough votes: n < 10;
//  2. limbo: neutral ≥ 40 % (participants do not take sides);
//  3. consensus: agree ≥ 60 %, or disagree < 15 % and neutral < 25 % and agree > disagree;
//  4. rejection: disagree ≥ 60 %, or agree < 15 % and neutral < 25 % and disagree > agree;
//  5. controversy: everything else.
//
// Rank sorts consensus by top score, controversy by controversy score and rejection by
// rejection score, highest first, ties by proposal id.
//
// # Demographic segments and raking
//
// Participants may give an age band, a gender and an area. Results per segment
// (SegmentCounts) are the scores of the votes of participants with that value.
//
// Results for the whole population correct for who took part by raking (iterative
// proportional fitting, Rake): every combination of profile values (a Cell) gets a weight
// so that, in each dimension, the weighted shares of participants match the population's
// (Margins). A participant who did not give a value in a dimension is left out of that
// dimension's shares, and that dimension's step leaves their weight unchanged (1, unless
// another dimension's step moved it); so not answering neither helps nor hurts.
//
// Weights are capped, by default to between 0.2 and 5 average participants
// (DefaultWeightCaps). Without a cap, raking would hand a huge weight to any rare profile:
// an organised group of a few percent of participants who all claim an under-represented
// age band and area would be multiplied by the gap between that profile's share among
// participants and in the population, and could carry a proposal. With the cap, 3 % of
// participants weigh at most 15 % of the weighted participants, and votes they bring
// through a shared link count half on top of that; the rest of the participants, who meet
// the proposal through the sequence, keep the majority of its votes (see
// TestRake_OrganisedFewPercentCannotTurnRejectionIntoConsensus). When a cap holds weights
// back, the margins may be met only approximately, and Rake says so (ErrNotConverged) while
// still returning the capped weights.
//
// WeightedCounts applies the weights to one proposal's votes split by cell. Raking moves
// vote mass between cells but keeps n, so it cannot lift a proposal above the minimum
// number of votes; and since uneven weights cost precision, intervals then use Kish's
// effective sample size (Σ w·m)² / Σ w²·m instead of n, where m is a cell's weighted votes.
package results

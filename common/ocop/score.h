/*
 * score.h: the one scoring function. From a rubric and the council members'
 * sheets it derives member totals, the council mean, per-part means, the band
 * star, the star-minima level, the final star, knock-outs, the spread rule and
 * the potential-5-star flag (OCOP.md, Decision 3). Every node calls this same
 * function after every merge, so equal rows always give equal results.
 *
 * All points are centipoints (see rubric.h). Nothing here touches a database,
 * a file or the clock.
 */
#ifndef OCOP_OCOP_SCORE_H
#define OCOP_OCOP_SCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ocop/rubric.h"

/* Default spread threshold: members' totals may not differ by 10 points or more. */
#define OCP_SPREAD_DEFAULT 1000

/* One member's choice on one criterion. */
typedef struct ocp_choice {
	const char *code; /* criterion code; borrowed */
	int64_t points;   /* centipoints of the chosen option; ignored when ko */
	bool ko;          /* the member chose the criterion's knock-out option */
} ocp_choice;

/* One member's sheet: every criterion once (a conditional one may be left out). */
typedef struct ocp_sheet {
	const char *member;        /* member label ("Member 1"); borrowed */
	const ocp_choice *choices; /* borrowed array of n_choices */
	size_t n_choices;          /* number of choices */
} ocp_sheet;

/* Settings of one evaluation (per-province settings and the dossier's state). */
typedef struct ocp_score_opts {
	int64_t spread_threshold; /* centipoints; the rule fails at spread >= this */
	bool spread_rule;         /* apply the spread rule at all */
	bool disqualified;        /* the dossier is disqualified (hồ sơ bị loại): no star */
	size_t min_members;       /* council minimum size (province setting); 0 = none */
} ocp_score_opts;

/* Where a sheet check failed (indices into the caller's arrays). */
typedef struct ocp_score_fault {
	size_t sheet;  /* offending sheet, or OCP_NONE */
	size_t choice; /* offending choice in that sheet, or OCP_NONE (e.g. a missing criterion) */
} ocp_score_fault;

/* One member's result. */
typedef struct ocp_score_member {
	char *member;                  /* copy of the label; owned by the ocp_score */
	int64_t total;                 /* centipoints */
	int64_t part[OCP_PART_COUNT];  /* A, B, C totals in centipoints */
} ocp_score_member;

/* One knock-out choice. */
typedef struct ocp_score_ko {
	size_t member;    /* index into ocp_score.members */
	size_t criterion; /* index into the rubric's criteria */
} ocp_score_ko;

/* Why a star-minima level is not met: the first criterion (rubric order) that falls short. */
typedef struct ocp_score_miss {
	size_t criterion; /* index into the rubric's criteria, or OCP_NONE when the level is met */
	int64_t need;     /* centipoints the council mean must reach */
	int64_t sum;      /* the council's sum on that criterion (mean = sum / count) */
} ocp_score_miss;

/*
 * The result. Means are kept exact as sum and count; `mean` is the same value as
 * a double for display and JSON. The shown mean truncates toward zero at 2
 * decimals (mean_display = sum / count in integer centipoints), so an exact mean
 * of 89.995 shows as 89.99 next to 4★ and never as 90.00. Bands and minima
 * compare the exact values in integers.
 */
typedef struct ocp_score {
	size_t count;                          /* members (sheets) */
	ocp_score_member *members;             /* owned array of count, in sheet order */
	int64_t sum;                           /* sum of member totals, centipoints */
	double mean;                           /* sum / count, in points */
	int64_t mean_display;                  /* sum / count truncated, centipoints */
	int64_t part_sum[OCP_PART_COUNT];      /* per-part sums of member totals */
	double part_mean[OCP_PART_COUNT];      /* per-part means, in points */
	int64_t part_display[OCP_PART_COUNT];  /* per-part means truncated, centipoints */
	size_t n_criteria;                     /* the rubric's criteria */
	int64_t *criterion_sum;                /* owned: council sum per criterion, centipoints */
	int band_star;                         /* 1..5 from the exact mean */
	int minima_star;                       /* 2..5: highest level whose minima are met */
	ocp_score_miss miss[3];                /* levels 3, 4, 5 (index level - 3) */
	int star;                              /* min(band, minima); 0 on knock-out or disqualification */
	bool disqualified;                     /* copied from the options */
	bool knockout;                         /* some member chose a knock-out option */
	size_t n_ko;                           /* entries in ko */
	ocp_score_ko *ko;                      /* owned array of n_ko, sheet then rubric order */
	int64_t spread;                        /* max - min of member totals, centipoints */
	int64_t spread_threshold;              /* copied from the options */
	bool spread_rule;                      /* copied from the options */
	bool spread_ok;                        /* spread < threshold, or the rule is off */
	bool potential_5star;                  /* star == 5 and spread_ok */
	size_t min_members;                    /* copied from the options (0 = no minimum) */
	bool quorum_ok;                        /* count >= min_members; when not, star is 0 */
} ocp_score;

/*
 * Fill opts with the defaults: threshold 10 points, spread rule on, not
 * disqualified, no council minimum (the council module passes the
 * evaluation's). Cannot fail.
 */
void ocp_score_opts_init(ocp_score_opts *opts);

/*
 * Check one choice of member `member` against the rubric: the criterion exists
 * and the points (or KO) designate one of its options.
 * Returns: OCOP_OK, or OCOP_EINPUT with a message naming member and criterion.
 * On success and when index is not NULL, *index is the criterion's index.
 */
int ocp_score_check_choice(const ocp_rubric *r, const char *member, const ocp_choice *ch,
    size_t *index /* OUT, may be NULL */, char *err, size_t errlen);

/*
 * Check the sheets: at least one; labels present and distinct; every choice valid
 * (ocp_score_check_choice); no criterion twice on a sheet; every non-conditional
 * criterion present; a conditional criterion left out or 0 when its condition is
 * not met on that sheet.
 * Returns: OCOP_OK; OCOP_ERUBRIC when the rubric is not a full tree (an outline
 * cannot be scored); OCOP_EINPUT with the reason (naming member and criterion) in
 * err and the location in *where (if not NULL). Allocates nothing.
 */
int ocp_score_check(const ocp_rubric *r, const ocp_sheet *sheets, size_t n,
    ocp_score_fault *where /* OUT, may be NULL */, char *err, size_t errlen);

/*
 * Score the sheets with the rubric. Runs ocp_score_check() first.
 * Returns: OCOP_OK; OCOP_ERUBRIC or OCOP_EINPUT as ocp_score_check(); OCOP_EINVAL
 * for a threshold <= 0; OCOP_ENOMEM.
 * Ownership: on success *out is the caller's, freed with ocp_score_free(); it
 * copies the labels and keeps no pointer into sheets or opts (the rubric must
 * outlive it only for the criterion indices to mean something). On failure *out
 * is NULL. Constructor of ocp_score.
 */
int ocp_score_compute(ocp_score **out, const ocp_rubric *r, const ocp_sheet *sheets, size_t n,
    const ocp_score_opts *opts, char *err, size_t errlen);

/* Release a result. Accepts NULL. Cannot fail. Destructor of ocp_score. */
void ocp_score_free(ocp_score *s);

/* The band star of an exact mean sum/count (count > 0): 5 at >= 90, 4 at >= 70, 3 at >= 50, 2 at >= 30, else 1. */
int ocp_score_band(int64_t sum, size_t count);

#endif /* OCOP_OCOP_SCORE_H */

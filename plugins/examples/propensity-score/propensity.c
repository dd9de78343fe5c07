/*
 * propensity-score: a Wayline condition that scores how likely a profile is to convert with a
 * logistic model over numeric profile attributes, and passes when the score reaches a
 * threshold.
 *
 *   score = 1 / (1 + e^-(bias + sum of weight[a] * profile.attributes[a]))
 *
 * Config (all optional): {"threshold":0.6, "bias":-1.0,
 *                         "weights":{"purchases":0.35,"daysSinceLastVisit":-0.04,"emailOpens":0.08}}
 * Weights, when given, replace the defaults entirely, so any attribute can be a feature. An
 * attribute that is missing or null counts as 0, a boolean as 0 or 1; anything else is
 * invalid input rather than a silent 0, so a broken import shows up in traces.
 */
#include <math.h>

#include "wayline.h"

static const struct {
	const char *attribute;
	double weight;
} default_weights[] = {
	{"purchases", 0.35},
	{"daysSinceLastVisit", -0.04},
	{"emailOpens", 0.08},
};
static const double default_bias = -1.0, default_threshold = 0.6;

/* The value of one feature, or an error for values a model cannot use. */
static int feature(const wl_condition_input *in, const char *attribute, double *x) {
	const wl_json *v = wl_get(in->profile.attributes, attribute);
	switch (wl_type_of(v)) {
	case WL_JSON_MISSING:
	case WL_JSON_NULL: *x = 0; return WL_OK;
	case WL_JSON_FALSE: *x = 0; return WL_OK;
	case WL_JSON_TRUE: *x = 1; return WL_OK;
	case WL_JSON_NUMBER:
		*x = wl_number(v, 0);
		if (isfinite(*x))
			return WL_OK;
		return wl_fail(WL_INVALID_INPUT, "profile.attributes.%s is out of range", attribute);
	default: return wl_fail(WL_INVALID_INPUT, "profile.attributes.%s must be a number or a boolean", attribute);
	}
}

/* A config number in [min, max], or dflt when absent. */
static int config_number(const wl_json *config, const char *key, double dflt, double min, double max, double *out) {
	const wl_json *v = wl_get(config, key);
	if (wl_is_null(v)) {
		*out = dflt;
		return WL_OK;
	}
	*out = wl_number(v, NAN);
	if (!(*out >= min && *out <= max)) /* also catches NaN: not a number */
		return wl_fail(WL_INVALID_CONFIG, "config.%s must be a number from %g to %g", key, min, max);
	return WL_OK;
}

int wayline_condition_fn(const wl_condition_input *in, wl_condition_output *out) {
	double threshold, z, x;
	int rc;
	if ((rc = config_number(in->config, "threshold", default_threshold, 0, 1, &threshold)) ||
	    (rc = config_number(in->config, "bias", default_bias, -1e6, 1e6, &z)))
		return rc;

	const wl_json *weights = wl_get(in->config, "weights");
	if (wl_is_null(weights)) {
		for (size_t i = 0; i < sizeof default_weights / sizeof default_weights[0]; i++) {
			if ((rc = feature(in, default_weights[i].attribute, &x)))
				return rc;
			z += default_weights[i].weight * x;
		}
	} else if (wl_type_of(weights) == WL_JSON_OBJECT) {
		WL_FOREACH_MEMBER(k, weights) {
			double w = wl_number(k + 1, NAN);
			if (!isfinite(w))
				return wl_fail(WL_INVALID_CONFIG, "config.weights.%s must be a number", k->str);
			if ((rc = feature(in, k->str, &x)))
				return rc;
			z += w * x;
		}
	} else {
		return wl_fail(WL_INVALID_CONFIG, "config.weights must be an object of attribute names to numbers");
	}

	/* Large finite inputs can still overflow the sum; an infinite z saturates the score. */
	if (isnan(z))
		return wl_fail(WL_INVALID_INPUT, "the weighted sum of the attributes is not a number");
	double score = 1 / (1 + exp(-z));
	out->result = score >= threshold;
	/* wl_reason_num, not wl_reason("score %.2f"): printf would be a fifth of the call. */
	wl_reason_num(out, "score ", score, 2);
	return WL_OK;
}

WAYLINE_CONDITION(wayline_condition_fn)

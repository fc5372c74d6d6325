/*
 * test_api_verdict.c - the API network child's kept monitor answers
 * (api_verdict.h): kept for the same second and policy generation only,
 * never a refusal, never without a generation, and the key tells apart
 * every field of the request.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "../../bastion/api_monitor.h"
#include "../../bastion/api_verdict.h"

static void
request(struct api_mon_msg *q)
{
	memset(q, 0, sizeof(*q));
	q->type = API_MON_REQ_AUTH;
	q->kind = API_MON_CRED_TOKEN;
	q->flag = API_MON_WANT_TOKEN;
	snprintf(q->credential, sizeof(q->credential), "alice@pve!ci=s3cret");
	snprintf(q->acl_path, sizeof(q->acl_path), "/nodes/pve1");
	snprintf(q->privilege, sizeof(q->privilege), "Sys.Audit");
}

static void
answer(struct api_mon_msg *rep, int status, int token_status)
{
	memset(rep, 0, sizeof(*rep));
	rep->type = API_MON_REP_AUTH;
	rep->status = (uint8_t)status;
	rep->flag = 1;
	rep->token_status = (uint8_t)token_status;
	snprintf(rep->userid, sizeof(rep->userid), "alice@pve");
	snprintf(rep->header, sizeof(rep->header), "PVEAPIToken=root@pam!x=y");
}

static void
test_kept_for_the_same_second_and_generation(void **state)
{
	unsigned char key[API_VERDICT_KEY_LEN];
	struct api_mon_msg q, rep, got;

	(void)state;
	api_verdict_wipe();
	request(&q);
	assert_int_equal(api_verdict_key(&q, key), 0);
	answer(&rep, API_MON_OK, API_MON_OK);
	assert_int_equal(api_verdict_find(key, 1000, 7, &got), 0);
	api_verdict_keep(key, 1000, 7, &rep);
	assert_int_equal(api_verdict_find(key, 1000, 7, &got), 1);
	assert_int_equal(got.status, API_MON_OK);
	assert_int_equal(got.flag, 1);
	assert_int_equal(got.token_status, API_MON_OK);
	assert_string_equal(got.userid, "alice@pve");
	assert_string_equal(got.header, "PVEAPIToken=root@pam!x=y");
	/* a reload (the generation moved): gone, and stays gone */
	assert_int_equal(api_verdict_find(key, 1000, 8, &got), 0);
	assert_int_equal(api_verdict_find(key, 1000, 7, &got), 0);
	/* the next second: gone */
	api_verdict_keep(key, 1000, 7, &rep);
	assert_int_equal(api_verdict_find(key, 1001, 7, &got), 0);
	assert_int_equal(api_verdict_find(key, 1000, 7, &got), 0);
}

static void
test_refusals_and_no_generation_never_kept(void **state)
{
	static const struct {
		int		status, token_status;
		unsigned long	gen;
		int		kept;
	} cases[] = {
		{ API_MON_REFUSED, API_MON_NONE, 7, 0 },
		/* the person is fine, the held token was refused or failed */
		{ API_MON_OK, API_MON_REFUSED, 7, 0 },
		{ API_MON_OK, API_MON_FAILED, 7, 0 },
		/* without the key holder's page there is nothing to key to */
		{ API_MON_OK, API_MON_OK, 0, 0 },
		/* no token asked for: kept */
		{ API_MON_OK, API_MON_NONE, 7, 1 },
	};
	unsigned char key[API_VERDICT_KEY_LEN];
	struct api_mon_msg q, rep, got;
	size_t i;

	(void)state;
	request(&q);
	assert_int_equal(api_verdict_key(&q, key), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		api_verdict_wipe();
		answer(&rep, cases[i].status, cases[i].token_status);
		api_verdict_keep(key, 1000, cases[i].gen, &rep);
		assert_int_equal(api_verdict_find(key, 1000, cases[i].gen,
		    &got), cases[i].kept);
	}
	assert_int_equal(got.token_status, API_MON_NONE);
	api_verdict_wipe();
	assert_int_equal(api_verdict_find(key, 1000, 7, &got), 0);
}

static void
test_every_field_is_in_the_key(void **state)
{
	unsigned char base[API_VERDICT_KEY_LEN], key[API_VERDICT_KEY_LEN];
	struct api_mon_msg q, rep, got;
	int i;

	(void)state;
	api_verdict_wipe();
	request(&q);
	assert_int_equal(api_verdict_key(&q, base), 0);
	answer(&rep, API_MON_OK, API_MON_OK);
	api_verdict_keep(base, 1000, 7, &rep);
	for (i = 0; i < 8; i++) {
		request(&q);
		switch (i) {
		case 0: q.kind = API_MON_CRED_TICKET; break;
		case 1: q.flag |= API_MON_NEED_CSRF; break;
		case 2: q.credential[0] = 'b'; break;
		case 3: snprintf(q.csrf, sizeof(q.csrf), "X"); break;
		case 4: snprintf(q.acl_path, sizeof(q.acl_path), "/vms/101");
			break;
		case 5: snprintf(q.privilege, sizeof(q.privilege), "Sys.Console");
			break;
		case 6: snprintf(q.pool, sizeof(q.pool), "web"); break;
		/* the bytes of two fields moved across their boundary */
		case 7: snprintf(q.credential, sizeof(q.credential),
			    "alice@pve!ci=s3cre");
			snprintf(q.csrf, sizeof(q.csrf), "t"); break;
		}
		assert_int_equal(api_verdict_key(&q, key), 0);
		assert_memory_not_equal(key, base, sizeof(key));
		assert_int_equal(api_verdict_find(key, 1000, 7, &got), 0);
	}
	/* and the request itself still finds it */
	assert_int_equal(api_verdict_find(base, 1000, 7, &got), 1);
}

static void
test_full_second_asks_again(void **state)
{
	unsigned char key[API_VERDICT_KEY_LEN];
	struct api_mon_msg q, rep, got;
	int i;

	(void)state;
	api_verdict_wipe();
	answer(&rep, API_MON_OK, API_MON_OK);
	for (i = 0; i <= API_VERDICT_SLOTS; i++) {
		request(&q);
		snprintf(q.acl_path, sizeof(q.acl_path), "/vms/%d", 100 + i);
		assert_int_equal(api_verdict_key(&q, key), 0);
		api_verdict_keep(key, 1000, 7, &rep);
		/* the one past the slots is not kept; the others are */
		assert_int_equal(api_verdict_find(key, 1000, 7, &got),
		    i < API_VERDICT_SLOTS);
	}
	/* a new second frees the slots */
	api_verdict_keep(key, 1001, 7, &rep);
	assert_int_equal(api_verdict_find(key, 1001, 7, &got), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kept_for_the_same_second_and_generation),
		cmocka_unit_test(test_refusals_and_no_generation_never_kept),
		cmocka_unit_test(test_every_field_is_in_the_key),
		cmocka_unit_test(test_full_second_asks_again),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

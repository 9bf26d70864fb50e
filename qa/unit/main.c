/*
 * main.c - runs every unit test suite; check prints the summary line
 * ("100%: Checks: N, Failures: 0, Errors: 0") and the exit status says
 * whether all passed.
 */
#include "suites.h"

#include <stdlib.h>

int main(void)
{
    SRunner *sr = srunner_create(packet_suite());
    srunner_add_suite(sr, containers_suite());
    srunner_add_suite(sr, stream_suite());
    srunner_add_suite(sr, ca_suite());
    srunner_add_suite(sr, robust_suite());
    srunner_add_suite(sr, table_suite());
    srunner_add_suite(sr, engine_suite());
    srunner_add_suite(sr, ca_commands_suite());
    srunner_add_suite(sr, tcphealth_suite());
    srunner_add_suite(sr, ports_suite());
    srunner_add_suite(sr, cull_suite());
    srunner_add_suite(sr, ipv6_suite());
    if (pva_suite)
        srunner_add_suite(sr, pva_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

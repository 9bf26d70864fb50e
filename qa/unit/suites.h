/* suites.h - the unit test suites run by main.c */
#ifndef EPICS_TEST_SUITES_H
#define EPICS_TEST_SUITES_H

#include <check.h>

Suite *packet_suite(void);
Suite *containers_suite(void);
Suite *stream_suite(void);
Suite *ca_suite(void);
Suite *robust_suite(void);
Suite *table_suite(void);
Suite *engine_suite(void);
Suite *ca_commands_suite(void);
Suite *tcphealth_suite(void);
Suite *ports_suite(void);
Suite *cull_suite(void);
Suite *ipv6_suite(void);
/* present when the pvAccess tests are linked in */
__attribute__((weak)) Suite *pva_suite(void);

#endif

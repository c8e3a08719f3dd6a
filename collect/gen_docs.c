/* SPDX-License-Identifier: Apache-2.0 */
/* omega-metrics-docs: writes docs/metrics.md (the generated metric catalogue) to standard
 * output. Built on request only; the collect test checks the committed file. */
#include <stdio.h>

#include "omega/collect.h"

int main(void)
{
    if (omega_collect_write_markdown(stdout) != 0 || fflush(stdout) != 0) {
        perror("omega-metrics-docs");
        return 1;
    }
    return 0;
}

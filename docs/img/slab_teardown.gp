# SPDX-License-Identifier: MIT
# Teardown time against caches, log-log: gnuplot docs/img/slab_teardown.gp
# (reads docs/img/slab_teardown.dat made by slab_churn_table.py).
set terminal svg size 760,480 font "sans,12"
set output "docs/img/slab_teardown.svg"
set title "memcg-churn: teardown vs caches, 16 per cgroup (median of 3, 2-vCPU VM)"
set logscale xy 2
set xlabel "caches N (cgroups x 16)"
set ylabel "teardown time (s)"
set grid
set format y "%g"
set key top left
f(x) = a * x**2
a = 70.2 / 65536.0**2
g(x) = b * x
b = 0.318 / 65536.0
plot "docs/img/slab_teardown.dat" using 1:2 with linespoints lw 2 title "percache-4.10", \
     "" using 1:3 with linespoints lw 2 title "lists-4.11", \
     "" using 1:4 with linespoints lw 2 title "objcg-5.9", \
     "" using 1:5 with linespoints lw 2 dt 2 title "objcg-5.14", \
     f(x) with lines dt 3 lc rgb "gray40" title "slope 2 (N^2)" noenhanced, \
     g(x) with lines dt 4 lc rgb "gray60" title "slope 1 (N)" noenhanced

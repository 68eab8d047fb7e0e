"""Named regression scenarios: parity-fuzz failures, shrunk, that must keep agreeing.

Each entry is a divergence between BackBroker and FinbotBroker() that the
fuzzer found (tests/parity_fuzz.py) and tools/fuzz_parity.py --shrink cut down,
named after its root cause; the comment gives the issue-12 item or the
finding in the fuzz findings note. ``tests/test_parity_fuzz.py`` runs them all.
"""

from __future__ import annotations

from tests.parity_fuzz import Act, FeedSpec, Scenario

REGRESSIONS: dict[str, Scenario] = {
    # issue 12 item 1; shrunk from fuzz seed 0
    "bracket_child_cancelled_before_parent_fills": Scenario(
        seed=0, cash=1000000.0, mode=(('exactbars', False), ('preload', True), ('runonce', True)),
        feeds=(
            FeedSpec(name='A', seed=271493, bars=7),
        ),
        actions=(
            Act(bar=3, kind='manual_bracket', args=(('data', 0), ('limit', -22), ('parent', 'Limit'), ('price', 15), ('side', 'sell'), ('size', 20), ('stop', 39), ('tag', 'b2'))),
            Act(bar=4, kind='cancel', args=(('tag', 'b2.limit'),)),
        ),
    ),
    # issue 12 item 1; shrunk from fuzz seed 20
    "bracket_child_expires_before_parent_fills": Scenario(
        seed=20, mode=(('exactbars', False), ('preload', True), ('runonce', True)),
        feeds=(
            FeedSpec(name='A', seed=706750, bars=16),
        ),
        actions=(
            Act(bar=13, kind='manual_bracket', args=(('data', 0), ('limit', 25), ('limitvalid', ('day',)), ('parent', 'Limit'), ('price', -10), ('side', 'buy'), ('size', 5), ('stop', -39), ('stopvalid', ('date', 0)), ('tag', 'b2'))),
        ),
    ),
    # issue 12 item 1; shrunk from fuzz seed 54
    "two_brackets_one_child_expires": Scenario(
        seed=54, cash=1000000.0, mode=(('exactbars', False), ('preload', True), ('runonce', True)),
        feeds=(
            FeedSpec(name='A', seed=583081, bars=11, csv=True),
        ),
        actions=(
            Act(bar=6, kind='bracket', args=(('data', 0), ('limit', -32), ('parent', 'Limit'), ('price', 16), ('side', 'sell'), ('size', 1), ('stop', 36), ('stopvalid', ('delta', 2880)), ('tag', 'b2'))),
            Act(bar=7, kind='manual_bracket', args=(('data', 0), ('limit', -30), ('limitvalid', ('date', 2)), ('parent', 'Market'), ('price', None), ('side', 'sell'), ('size', 20), ('stop', 12), ('tag', 'b5'))),
        ),
    ),
    # issue 12 item 5(a); shrunk from fuzz seed 9
    "close_order_from_next_open": Scenario(
        seed=9, mode=(('exactbars', False), ('preload', True), ('runonce', True)), cheat_on_open=True,
        feeds=(
            FeedSpec(name='B', seed=164791, bars=9),
        ),
        actions=(
            Act(bar=6, kind='order', args=(('data', 0), ('exectype', 'Close'), ('side', 'buy'), ('size', 40), ('tag', 't5')), phase='open'),
            Act(bar=7, kind='target', args=(('data', 0), ('target', 60), ('which', 'size')), phase='open'),
        ),
    ),
    # issue 12 item 5(d); shrunk from fuzz seed 1
    "close_order_on_intraday_bars_executed_dt": Scenario(
        seed=1, cash=1000000.0, mode=(('exactbars', False), ('preload', True), ('runonce', True)),
        feeds=(
            FeedSpec(name='A', seed=471325, bars=68, minutes=1, bars_per_day=13),
        ),
        actions=(
            Act(bar=56, kind='order', args=(('data', 0), ('exectype', 'Close'), ('side', 'sell'), ('size', 1), ('tag', 't6'), ('valid', ('datetime', 1440)))),
        ),
    ),
    # issue 12 item 5(b); shrunk from fuzz seed 343
    "close_order_on_last_bar_of_intraday_session": Scenario(
        seed=343, cash=1000000.0, mode=(('exactbars', False), ('preload', True), ('runonce', True)),
        feeds=(
            FeedSpec(name='A', seed=335308, bars=94, minutes=1, bars_per_day=13),
        ),
        actions=(
            Act(bar=88, kind='target', args=(('data', 0), ('target', 10), ('which', 'size'))),
            Act(bar=91, kind='order', args=(('data', 0), ('exectype', 'Close'), ('side', 'buy'), ('size', 1), ('tag', 't21'), ('valid', ('date', 3)))),
        ),
    ),
    # issue 12 item 0; shrunk from fuzz seed 28
    "undeclared_intraday_feed_brackets_and_filler": Scenario(
        seed=28, mode=(('exactbars', False), ('preload', True), ('runonce', True)), filler=(('kind', 'FixedSize'), ('size', 7)),
        feeds=(
            FeedSpec(name='A', seed=668922, bars=16, minutes=5, declare_timeframe=False, bars_per_day=13),
        ),
        actions=(
            Act(bar=8, kind='bracket', args=(('data', 0), ('limit', -11), ('parent', 'Limit'), ('price', 13), ('side', 'sell'), ('size', 60), ('stop', 21), ('tag', 'b0'))),
            Act(bar=11, kind='bracket', args=(('data', 0), ('limit', 32), ('limitvalid', ('delta', 30)), ('parent', 'Stop'), ('price', 4), ('side', 'buy'), ('size', 60), ('stop', -38), ('tag', 'b3'))),
            Act(bar=13, kind='target', args=(('data', 0), ('target', -2000.0), ('which', 'value'))),
        ),
    ),
    # issue 12 item 0; shrunk from fuzz seed 31
    "undeclared_intraday_feed_bracket_and_oco": Scenario(
        seed=31, mode=(('exactbars', False), ('preload', True), ('runonce', True)),
        feeds=(
            FeedSpec(name='A', seed=45370, bars=4, minutes=30, declare_timeframe=False, bars_per_day=8),
        ),
        actions=(
            Act(bar=1, kind='bracket', args=(('data', 0), ('limit', 17), ('limitvalid', ('date', 3)), ('parent', 'Limit'), ('price', -7), ('side', 'buy'), ('size', 10), ('stop', -12), ('stopvalid', ('delta', 10)), ('tag', 'b1'))),
            Act(bar=2, kind='oco', args=(('data', 0), ('exectype', 'Stop'), ('oco', 'b1'), ('price', 12), ('side', 'buy'), ('size', 5), ('tag', 't2'), ('valid', ('day',)))),
        ),
    ),
    # fuzz finding F1 (item 9); shrunk from fuzz seed 2
    "filler_partial_fill_size_type": Scenario(
        seed=2, cash=1000000.0, mode=(('exactbars', False), ('preload', True), ('runonce', True)), filler=(('kind', 'FixedBarPerc'), ('perc', 25)),
        feeds=(
            FeedSpec(name='A', seed=88994, bars=6),
        ),
        actions=(
            Act(bar=2, kind='target', args=(('data', 0), ('target', 0.98), ('which', 'percent'))),
        ),
    ),
    # fuzz finding F1 (item 9); shrunk from fuzz seed 7
    "filler_partial_fill_of_bracket_parent_size_type": Scenario(
        seed=7, mode=(('exactbars', False), ('preload', True), ('runonce', True)), filler=(('kind', 'BarPointPerc'), ('minmov', 0.0625), ('perc', 10)),
        feeds=(
            FeedSpec(name='A', seed=682554, bars=5),
        ),
        actions=(
            Act(bar=2, kind='manual_bracket', args=(('data', 0), ('limit', 27), ('parent', 'Limit'), ('price', -14), ('side', 'buy'), ('size', 60), ('stop', -16), ('stopvalid', ('datetime', 1440)), ('tag', 'b1'))),
        ),
    ),
    # issue 12 item 12 (submission checks); shrunk from fuzz seed 10
    "setcash_after_order_same_next": Scenario(
        seed=10, cash=1000000.0, mode=(('exactbars', False), ('preload', True), ('runonce', True)),
        feeds=(
            FeedSpec(name='A', seed=606172, bars=6),
        ),
        actions=(
            Act(bar=3, kind='target', args=(('data', 0), ('target', 0.1), ('which', 'percent'))),
            Act(bar=3, kind='setcash', args=(('cash', 5000.0),)),
        ),
    ),
    # issue 12 item 12 (submission checks); shrunk from fuzz seed 58
    "setcash_after_bracket_same_next": Scenario(
        seed=58, cash=30000.0, mode=(('exactbars', False), ('preload', True), ('runonce', True)), commission=((('commission', 2.0), ('margin', 500.0), ('mult', 10.0)),),
        feeds=(
            FeedSpec(name='A', seed=673153, bars=18),
        ),
        actions=(
            Act(bar=2, kind='order', args=(('data', 0), ('exectype', 'Limit'), ('price', -7), ('side', 'buy'), ('size', 20), ('tag', 't0'))),
            Act(bar=4, kind='order', args=(('data', 0), ('exectype', 'Close'), ('side', 'buy'), ('size', 5), ('tag', 't1'), ('valid', ('datetime', 1440)))),
            Act(bar=15, kind='manual_bracket', args=(('data', 0), ('limit', 26), ('limitvalid', ('delta', 5760)), ('parent', 'Limit'), ('price', -3), ('side', 'buy'), ('size', 40), ('stop', -18), ('stopvalid', None), ('tag', 'b13'))),
            Act(bar=15, kind='setcash', args=(('cash', 2000000.0),)),
        ),
    ),
    # issue 12 item 12 (submission checks); shrunk from fuzz seed 9
    "setcash_with_cheat_on_open_orders": Scenario(
        seed=9, mode=(('exactbars', False), ('preload', True), ('runonce', True)), cheat_on_open=True,
        feeds=(
            FeedSpec(name='A', seed=145269, bars=50),
            FeedSpec(name='B', seed=164791, bars=50),
        ),
        actions=(
            Act(bar=22, kind='order', args=(('data', 0), ('exectype', 'StopTrail'), ('side', 'sell'), ('size', 5), ('tag', 't10'), ('trailamount', 4)), phase='open'),
            Act(bar=47, kind='target', args=(('data', 1), ('target', 5000.0), ('which', 'value')), phase='open'),
            Act(bar=47, kind='oco', args=(('data', 0), ('exectype', 'Close'), ('oco', 't10'), ('side', 'buy'), ('size', 20), ('tag', 't14'), ('valid', ('datetime', 4320)))),
            Act(bar=47, kind='setcash', args=(('cash', 5000.0),)),
        ),
    ),
    # fuzz finding F11 (MarketDataError: time went backwards); shrunk from fuzz seed 646
    "csv_and_pandas_daily_feeds_cheat_on_open_no_crash": Scenario(
        seed=646, cash=1000000.0, mode=(('exactbars', False), ('preload', True), ('runonce', True)), cheat_on_open=True,
        feeds=(
            FeedSpec(name='A', seed=340107, bars=90),
            FeedSpec(name='B', seed=266105, bars=79, csv=True),
        ),
        actions=(
            Act(bar=34, kind='order', args=(('data', 0), ('exectype', 'Close'), ('side', 'buy'), ('size', 2), ('tag', 't8'), ('valid', None)), phase='open'),
            Act(bar=34, kind='order', args=(('data', 1), ('exectype', 'Stop'), ('price', -5), ('side', 'sell'), ('size', 1), ('tag', 't9'), ('valid', None)), phase='open'),
        ),
    ),
    # fuzz finding F14; shrunk from fuzz seed 45
    "oco_grouped_bracket_parent_expires_notification_order": Scenario(
        seed=45, cash=1000000.0, mode=(('exactbars', False), ('preload', True), ('runonce', True)),
        feeds=(
            FeedSpec(name='B', seed=833692, bars=6, minutes=1, declare_timeframe=False, bars_per_day=26),
        ),
        actions=(
            Act(bar=3, kind='bracket', args=(('data', 0), ('limit', 33), ('parent', 'Stop'), ('price', 10), ('side', 'buy'), ('size', 5), ('stop', -13), ('tag', 'b0'), ('valid', ('date', 0)))),
            Act(bar=3, kind='oco', args=(('data', 0), ('exectype', 'Close'), ('oco', 'b0'), ('price', -2), ('side', 'sell'), ('size', 2), ('tag', 't1'), ('valid', None))),
        ),
    ),
    # bracket children activated by the parent's fill are not tried in the same pass; shrunk from fuzz seed 1148
    "bracket_children_wait_a_cycle_after_parent_fills_on_lagging_feed": Scenario(
        seed=1148, cash=1000000.0, mode=(('exactbars', False), ('preload', True), ('runonce', True)),
        feeds=(
            FeedSpec(name='A', seed=134548, bars=19, bars_per_day=13),
            FeedSpec(name='B', seed=52883, bars=18, csv=True, start_offset=1, bars_per_day=13),
        ),
        actions=(
            Act(bar=16, kind='manual_bracket', args=(('data', 1), ('limit', 7), ('parent', 'Market'), ('price', None), ('side', 'buy'), ('size', 8), ('stop', -29), ('stopvalid', None), ('tag', 'b6'))),
        ),
    ),
    # run 6, "other order notified (Back Completed / Finbot Completed)": one pass a cycle in submission
    # order across feeds, whatever their bars' opens; shrunk from fuzz seed 836
    "one_pass_over_feeds_in_submission_order": Scenario(
        seed=836, mode=(('exactbars', False), ('preload', True), ('runonce', True)),
        feeds=(
            FeedSpec(name='B', seed=600075, bars=10, csv=True, drop=(2, 11, 20, 31, 54, 58), bars_per_day=26),
            FeedSpec(name='C', seed=505684, bars=10, bars_per_day=26),
        ),
        actions=(
            Act(bar=6, kind='manual_bracket', args=(('data', 1), ('limit', -40), ('limitvalid', None), ('parent', 'Market'), ('price', None), ('side', 'sell'), ('size', 20), ('stop', 29), ('stopvalid', ('datetime', 1440)), ('tag', 'b0'), ('valid', ('day',)))),
            Act(bar=7, kind='manual_bracket', args=(('data', 0), ('limit', 33), ('parent', 'Limit'), ('price', 0), ('side', 'buy'), ('size', 60), ('stop', -28), ('tag', 'b1'), ('valid', ('datetime', 2880)))),
        ),
    ),
    # cheat-on-open: a market order from next() is checked at the next bar's open; shrunk from fuzz seed 1415
    "cheat_on_open_market_order_funds_checked_at_next_open": Scenario(
        seed=1415, cash=30000.0, mode=(('exactbars', False), ('preload', True), ('runonce', True)), cheat_on_open=True, commission=((('commission', 2.0), ('margin', 500.0), ('mult', 10.0)), (('commission', 0.25), ('name', 'A')), (('commission', 2.5), ('commtype', 'fixed'), ('stocklike', True), ('name', 'B'))),
        feeds=(
            FeedSpec(name='A', seed=712797, bars=78, bars_per_day=26),
            FeedSpec(name='B', seed=815090, bars=77, start_offset=1, bars_per_day=26),
        ),
        actions=(
            Act(bar=55, kind='setcash', args=(('cash', 2000000.0),)),
            Act(bar=75, kind='target', args=(('data', 1), ('target', 0.98), ('which', 'percent'))),
        ),
    ),
    # cheat-on-open: a priced Close order from next_open() is checked at its price; shrunk from fuzz seed 1271
    "cheat_on_open_priced_close_order_funds_checked": Scenario(
        seed=1271, mode=(('exactbars', False), ('preload', True), ('runonce', True)), cheat_on_open=True,
        feeds=(
            FeedSpec(name='A', seed=925125, bars=8, bars_per_day=26),
            FeedSpec(name='B', seed=232290, bars=8, bars_per_day=26),
        ),
        actions=(
            Act(bar=4, kind='bracket', args=(('data', 1), ('limit', 33), ('parent', 'Limit'), ('price', -13), ('side', 'buy'), ('size', 90), ('stop', -19), ('tag', 'b0'))),
            Act(bar=5, kind='order', args=(('data', 0), ('exectype', 'Close'), ('price', 6), ('side', 'buy'), ('size', 90), ('tag', 't1'), ('valid', None)), phase='open'),
        ),
    ),
    # run 6, "other order notified (Back Submitted / Finbot Partial)": with a filler, a Close order on a feed
    # with no new bar is sized on the bar before its last one, and a market order's rest is filled again on a
    # bar its feed's time maps to the order's own time; shrunk from fuzz seed 988
    "filler_on_a_bar_passed_again_close_and_market": Scenario(
        seed=988, cash=1000000.0, mode=(('exactbars', False), ('preload', True), ('runonce', True)), filler=(('kind', 'FixedSize'), ('size', 3)),
        feeds=(
            FeedSpec(name='A', seed=87588, bars=10, csv=True, bars_per_day=26),
            FeedSpec(name='B', seed=306092, bars=9, csv=True, start_offset=1, bars_per_day=26),
            FeedSpec(name='C', seed=551324, bars=10, drop=(1, 10), bars_per_day=26),
        ),
        actions=(
            Act(bar=5, kind='order', args=(('data', 0), ('exectype', 'Close'), ('price', -2), ('side', 'sell'), ('size', 8), ('tag', 't2'), ('valid', None))),
            Act(bar=8, kind='order', args=(('data', 1), ('exectype', 'Market'), ('side', 'buy'), ('size', 8), ('tag', 't3'), ('valid', ('delta', 2880)))),
        ),
    ),
    # a Market order's close-only fill after a cash refusal takes the type of BackBroker's split (a float
    # position makes it float); shrunk from fuzz seed 816
    "closing_part_of_a_cash_refused_reversal_has_the_position_size_type": Scenario(
        seed=816, mode=(('exactbars', False), ('preload', True), ('runonce', True)), filler=(('kind', 'FixedBarPerc'), ('perc', 25)),
        feeds=(
            FeedSpec(name='A', seed=325545, bars=108, minutes=30, declare_timeframe=False, bars_per_day=8),
        ),
        actions=(
            Act(bar=13, kind='addcash', args=(('cash', 50000.0),)),
            Act(bar=62, kind='order', args=(('data', 0), ('exectype', 'Limit'), ('price', -24), ('side', 'buy'), ('size', 90), ('tag', 't20'))),
            Act(bar=63, kind='bracket', args=(('data', 0), ('limit', -31), ('limitvalid', ('delta', 240)), ('parent', 'Limit'), ('price', 4), ('side', 'sell'), ('size', 90), ('stop', 15), ('tag', 'b21'))),
            Act(bar=64, kind='close', args=(('data', 0),)),
            Act(bar=96, kind='setcash', args=(('cash', 5000.0),)),
        ),
    ),
    # an order placed on the first bar of a daily-declared intraday feed without preload is timed again
    # once the next bar shows the feed intraday; shrunk from fuzz seed 2225
    "first_bar_order_retimed_when_feed_turns_out_intraday_without_preload": Scenario(
        seed=2225, cash=1000000.0, mode=(('exactbars', 1), ('preload', True), ('runonce', True)),
        feeds=(
            FeedSpec(name='A', seed=4370, bars=5, minutes=30, declare_timeframe=False, bars_per_day=8),
        ),
        actions=(
            Act(bar=1, kind='bracket', args=(('data', 0), ('limit', -33), ('parent', 'Limit'), ('price', -2), ('side', 'sell'), ('size', 5), ('stop', 12), ('stopvalid', ('delta', 30)), ('tag', 'b1'))),
        ),
    ),
    # a bracket parent refused for cash at execution: its OCO group is cancelled before its children
    # (BackBroker's _ococheck, then _bracketize); shrunk from fuzz seed 3570
    "margin_at_execution_cancels_oco_group_before_bracket_children": Scenario(
        seed=3570, mode=(('exactbars', False), ('preload', True), ('runonce', True)),
        feeds=(
            FeedSpec(name='A', seed=447340, bars=11, minutes=30, declare_timeframe=False, bars_per_day=13),
            FeedSpec(name='B', seed=452459, bars=8, minutes=1, start_offset=3, bars_per_day=13),
        ),
        actions=(
            Act(bar=3, kind='bracket', args=(('data', 1), ('limit', 37), ('parent', 'Limit'), ('price', -12), ('side', 'buy'), ('size', 60), ('stop', -16), ('stopvalid', None), ('tag', 'b0'))),
            Act(bar=4, kind='manual_bracket', args=(('data', 0), ('limit', 11), ('parent', 'Limit'), ('price', 2), ('side', 'buy'), ('size', 40), ('stop', -20), ('stopvalid', ('date', 0)), ('tag', 'b1'))),
            Act(bar=8, kind='oco', args=(('data', 1), ('exectype', 'StopTrail'), ('oco', 'b0'), ('side', 'sell'), ('size', 20), ('tag', 't3'), ('trailamount', 8), ('valid', ('day',)))),
        ),
    ),
    # an order that closes part of a position and is refused (Margin) for opening the rest cancels its
    # OCO group after the partial execution's notification, before its Margin (BackBroker's _execute
    # runs _ococheck after each notify); shrunk from fuzz seed 4441
    "partial_close_then_margin_cancels_oco_group_before_margin": Scenario(
        seed=4441, mode=(('exactbars', False), ('preload', True), ('runonce', True)),
        feeds=(
            FeedSpec(name='B', seed=313613, bars=47, csv=True, bars_per_day=26),
            FeedSpec(name='C', seed=962284, bars=44, csv=True, start_offset=3, bars_per_day=26),
        ),
        actions=(
            Act(bar=5, kind='order', args=(('data', 1), ('exectype', 'StopLimit'), ('plimit', -1), ('price', -9), ('side', 'sell'), ('size', 20), ('tag', 't4'), ('valid', ('datetime', 5760)))),
            Act(bar=33, kind='oco', args=(('data', 1), ('exectype', 'StopTrail'), ('oco', 't4'), ('side', 'buy'), ('size', 90), ('tag', 't19'), ('trailamount', 29))),
            Act(bar=38, kind='target', args=(('data', 0), ('target', 0.98), ('which', 'percent'))),
            Act(bar=44, kind='oco', args=(('data', 0), ('exectype', 'Market'), ('oco', 't19'), ('side', 'sell'), ('size', 60), ('tag', 't25'))),
        ),
    ),
}

@echo off
rem ZIT Desktop launcher and set-up for Windows.
rem   run.bat                     set up (first time only) and open the app
rem   run.bat test [ARGS]         set up with the test tools, then run the test suite
rem   run.bat ARGS                set up, then run "zit-desktop ARGS" (e.g. run.bat doctor)
rem   run.bat --install-shortcut  set up, then add Start-menu and desktop shortcuts (no console window)
rem   run.bat --remove-shortcut   take those shortcuts out again
rem The first successful set-up offers the shortcuts once. Set-up failures are also written to
rem %LOCALAPPDATA%\zit-desktop\launcher.log.
rem Delayed expansion stays off: it would eat "!" in prompts and folder names. No ( ) blocks below:
rem a ")" in an expanded folder name would end them early.
setlocal EnableExtensions DisableDelayedExpansion
set "ORIG=%CD%"
cd /d "%~dp0"
set "ROOT=%~dp0."
set "VENV=%~dp0.venv"
set "PY=%~dp0.venv\Scripts\python.exe"
set "LOGDIR=%TEMP%\zit-desktop"
if defined LOCALAPPDATA set "LOGDIR=%LOCALAPPDATA%\zit-desktop"
set "LOG=%LOGDIR%\launcher.log"
if not defined ZIT_TORCH_VERSION set "ZIT_TORCH_VERSION=2.14.1"
rem torchvision must be the build made for this torch (spandrel, the upscaler library, imports it)
if not defined ZIT_TORCHVISION_VERSION set "ZIT_TORCHVISION_VERSION=0.29.1"
if not defined ZIT_TORCH_CUDA_INDEX set "ZIT_TORCH_CUDA_INDEX=https://download.pytorch.org/whl/cu128"
set "PAIR=%ZIT_TORCH_VERSION% %ZIT_TORCHVISION_VERSION%"

if /i "%~1"=="--remove-shortcut" goto :remove_shortcut
rem What to install: the app only, or the app with the test tools (pytest, ruff, mypy).
set "EXTRAS=app"
set "TARGET=."
if /i "%~1"=="test" set "EXTRAS=test"
if /i "%~1"=="test" set "TARGET=.[test]"

if exist "%PY%" goto :have_venv
call :find_python
if errorlevel 1 goto :nopython
echo [zit-desktop] creating .venv
%BASEPY% -m venv "%VENV%"
if errorlevel 1 goto :venvfail
:have_venv

set "FLAVOUR=cpu"
if defined ZIT_TORCH_FLAVOUR set "FLAVOUR=%ZIT_TORCH_FLAVOUR%"
if not defined ZIT_TORCH_FLAVOUR nvidia-smi -L >nul 2>nul && set "FLAVOUR=cuda"

rem packaging\deps_stamp.py says what is missing: all, extras (the test tools) or nothing.
"%PY%" "%~dp0packaging\deps_stamp.py" need "%VENV%" "%PAIR%" "%FLAVOUR%" "%EXTRAS%" > "%VENV%\.zit-need"
if errorlevel 1 goto :venvbroken
set "NEED="
set /p NEED=<"%VENV%\.zit-need"
if "%NEED%"=="nothing" goto :ready
if "%NEED%"=="extras" goto :install_app
if not "%NEED%"=="all" goto :venvbroken

echo [zit-desktop] installing dependencies (torch %ZIT_TORCH_VERSION%, %FLAVOUR% build); the first time takes a while
rem A different torch build than last time (a driver was installed, say): replace it, or pip keeps the old one.
set "FORCE="
set "TORCH_HAVE="
if exist "%VENV%\.zit-torch" set /p TORCH_HAVE=<"%VENV%\.zit-torch"
if defined TORCH_HAVE if not "%TORCH_HAVE%"=="%ZIT_TORCH_VERSION% %FLAVOUR%" set "FORCE=--force-reinstall"
rem A CPU-only torch from before the NVIDIA driver was installed (no stamp yet): replace it too.
if "%FLAVOUR%"=="cuda" if not defined FORCE "%PY%" -c "import sys, torch; sys.exit(0 if torch.version.cuda is None else 1)" >nul 2>nul && set "FORCE=--force-reinstall"
if "%FLAVOUR%"=="cuda" goto :torch_cuda
"%PY%" -m pip install -q --disable-pip-version-check %FORCE% "torch==%ZIT_TORCH_VERSION%" "torchvision==%ZIT_TORCHVISION_VERSION%"
if errorlevel 1 goto :installfail
goto :torch_done
:torch_cuda
"%PY%" -m pip install -q --disable-pip-version-check %FORCE% --index-url "%ZIT_TORCH_CUDA_INDEX%" "torch==%ZIT_TORCH_VERSION%" "torchvision==%ZIT_TORCHVISION_VERSION%"
if errorlevel 1 goto :installfail
:torch_done
> "%VENV%\.zit-torch" echo %ZIT_TORCH_VERSION% %FLAVOUR%

:install_app
if "%NEED%"=="extras" echo [zit-desktop] installing the test tools (pytest, ruff, mypy)
"%PY%" -m pip install -q --disable-pip-version-check -e "%TARGET%"
if errorlevel 1 goto :installfail
"%PY%" "%~dp0packaging\deps_stamp.py" done "%VENV%" "%PAIR%" "%FLAVOUR%" "%EXTRAS%"
if errorlevel 1 goto :installfail
:ready
if /i "%~1"=="test" goto :test
if /i "%~1"=="--install-shortcut" goto :install_shortcut
if "%~1"=="" goto :gui
rem Commands run from the caller's folder (relative file names), with -P so files there can't shadow modules.
cd /d "%ORIG%"
"%PY%" -P -m zit_desktop %*
exit /b %errorlevel%

:test
set "QT_QPA_PLATFORM=offscreen"
"%PY%" -m pytest -q %2 %3 %4 %5 %6 %7 %8 %9
exit /b %errorlevel%

:gui
rem The first time the window opens from run.bat, offer the shortcuts (once: the marker remembers).
if not exist "%VENV%\.zit-shortcut-offered" call :offer_shortcut
start "" "%~dp0.venv\Scripts\pythonw.exe" -P -m zit_desktop gui
exit /b 0

:install_shortcut
call :make_shortcut
exit /b %errorlevel%

:remove_shortcut
powershell -NoProfile -ExecutionPolicy Bypass -File "%~dp0packaging\windows\shortcut.ps1" -Action remove -Root "%ROOT%"
exit /b %errorlevel%

:offer_shortcut
> "%VENV%\.zit-shortcut-offered" echo offered
choice /c YN /t 60 /d N /m "[zit-desktop] Add ZIT Desktop to the Start menu and the desktop"
if errorlevel 2 exit /b 0
call :make_shortcut
exit /b 0

:make_shortcut
powershell -NoProfile -ExecutionPolicy Bypass -File "%~dp0packaging\windows\shortcut.ps1" -Action install -Root "%ROOT%"
if errorlevel 1 goto :shortcutfail
exit /b 0

:find_python
set "BASEPY="
where py >nul 2>nul
if errorlevel 1 goto :find_python_plain
py -3 -c "import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)" >nul 2>nul
if not errorlevel 1 set "BASEPY=py -3"
if defined BASEPY exit /b 0
:find_python_plain
where python >nul 2>nul
if errorlevel 1 exit /b 1
python -c "import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)" >nul 2>nul
if not errorlevel 1 set "BASEPY=python"
if defined BASEPY exit /b 0
exit /b 1

:nopython
set "MSG=Python 3.11 or newer is needed. Install it from python.org (tick Add python.exe to PATH) and run again."
goto :fail

:venvfail
set "MSG=could not create the virtual environment (the .venv folder next to run.bat)."
goto :fail

:venvbroken
set "MSG=the virtual environment does not work. Delete the .venv folder next to run.bat and run again."
goto :fail

:installfail
set "MSG=installing dependencies failed. Check your internet connection and run again."
goto :fail

:shortcutfail
set "MSG=the shortcuts could not be created; the lines above say why. ZIT Desktop still starts with run.bat."
goto :fail

:fail
echo [zit-desktop] error: %MSG%
if not exist "%LOGDIR%" mkdir "%LOGDIR%" >nul 2>nul
>> "%LOG%" echo %DATE% %TIME% run.bat: %MSG%
echo [zit-desktop] this message is also in "%LOG%"
pause
exit /b 1
